package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
