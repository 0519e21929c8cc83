package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/config"
)

func TestConfigRefusesAnUnknownAdaptiveApp(t *testing.T) {
	load := func(kv ...string) error {
		cfg, err := config.Load[Config](append([]string{"APP_API_TOKEN=t"}, kv...))
		require.NoError(t, err)
		return cfg.validate()
	}
	assert.NoError(t, load(), "the default")
	assert.NoError(t, load("UPSTREAM_ADAPTIVE_APPS=none"))
	assert.NoError(t, load("UPSTREAM_ADAPTIVE_APPS=auth,inventory"))
	err := load("UPSTREAM_ADAPTIVE_APPS=auth,prodcut")
	require.Error(t, err, "a misspelt service would keep a fixed bound unnoticed")
	assert.Contains(t, err.Error(), `"prodcut"`)
}

func TestConfigRefusesAnAdaptiveFloorBelowOne(t *testing.T) {
	load := func(kv ...string) error {
		cfg, err := config.Load[Config](append([]string{"APP_API_TOKEN=t"}, kv...))
		require.NoError(t, err)
		return cfg.validate()
	}
	assert.NoError(t, load("UPSTREAM_ADAPTIVE_FLOOR=4"))
	err := load("UPSTREAM_ADAPTIVE_FLOOR=0")
	require.Error(t, err, "a bound that may fall to no call would refuse every request")
	assert.Contains(t, err.Error(), "UPSTREAM_ADAPTIVE_FLOOR")
}

func TestAnAdaptiveBoundFallsToItsFloor(t *testing.T) {
	assert.Equal(t, admission.AdaptiveOptions{Initial: 512, Min: 4, Max: 512}, boundOptions(512, 4, true), "adaptive: from the bound down to the floor")
	assert.Equal(t, admission.AdaptiveOptions{Initial: 8, Min: 8, Max: 8}, boundOptions(8, 16, true), "a bound below the floor stays where it is")
	assert.Equal(t, admission.AdaptiveOptions{Initial: 512, Min: 512, Max: 512}, boundOptions(512, 4, false), "fixed")

	// Every app's bound starts at the one configured, adaptive or not.
	f := newInFlight([]string{"product", "inventory"}, 0, 512, []string{"product"}, 4)
	assert.Equal(t, 512, f.byApp["product"].Limit(), "it starts at the bound")
	assert.Equal(t, 512, f.byApp["inventory"].Limit())
}
