package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/config"
)

// validConfig loads the gateway's settings from kv (beside the one it
// requires) and reports what Config.validate says of them.
func validConfig(t *testing.T, kv ...string) error {
	cfg, err := config.Load[Config](append([]string{"APP_API_TOKEN=t"}, kv...))
	require.NoError(t, err)
	return cfg.validate()
}

func TestConfigRefusesAnUnknownAdaptiveApp(t *testing.T) {
	assert.NoError(t, validConfig(t), "the default")
	assert.NoError(t, validConfig(t, "UPSTREAM_ADAPTIVE_APPS=none"))
	assert.NoError(t, validConfig(t, "UPSTREAM_ADAPTIVE_APPS=auth,inventory"))
	err := validConfig(t, "UPSTREAM_ADAPTIVE_APPS=auth,prodcut")
	require.Error(t, err, "a misspelt service would keep a fixed bound unnoticed")
	assert.Contains(t, err.Error(), `"prodcut"`)
}

func TestConfigRefusesAnAdaptiveFloorBelowOne(t *testing.T) {
	assert.NoError(t, validConfig(t, "UPSTREAM_ADAPTIVE_FLOOR=4"))
	err := validConfig(t, "UPSTREAM_ADAPTIVE_FLOOR=0")
	require.Error(t, err, "a bound that may fall to no call would refuse every request")
	assert.Contains(t, err.Error(), "UPSTREAM_ADAPTIVE_FLOOR")
}
