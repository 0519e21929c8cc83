package integration

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

// publicContract is what /docs/openapi/<app>.yaml says of its operations.
type publicContract struct {
	Paths map[string]map[string]yaml.Node
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// The page at /docs and the contracts it shows come from the running
// gateway, and what they document is what the gateway serves: every GET
// each public contract lists reaches its service through the gateway (an
// answer of the service's, checked against its contract, never the
// gateway's "Route not found").
func TestDocsShowWhatTheGatewayServes(t *testing.T) {
	env := adminEnvOf(t, []string{"user", "product", "inventory"})
	admin := logIn(t, env, "root@example.com", userAdminPassword)

	page := do(t, env, call{method: http.MethodGet, path: "/docs"})
	require.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, string(page.body), "swagger-ui")
	assert.Contains(t, page.header.Get("Content-Security-Policy"), "connect-src 'self'", "the page may call this origin only")
	assert.NotEmpty(t, page.header.Get("RateLimit-Limit"), "public, and rate limited")
	asset := do(t, env, call{method: http.MethodGet, path: "/docs/swagger-ui-bundle.js"})
	assert.Equal(t, http.StatusOK, asset.status, "served from the binary")
	assert.Equal(t, "default-src 'none'; frame-ancestors 'none'",
		do(t, env, call{method: http.MethodGet, path: "/info"}).header.Get("Content-Security-Policy"), "other answers keep the strict policy")

	checked := 0
	for _, app := range []string{"auth", "user", "product", "inventory"} {
		a := do(t, env, call{method: http.MethodGet, path: "/docs/openapi/" + app + ".yaml"})
		require.Equal(t, http.StatusOK, a.status, app)
		assert.NotContains(t, string(a.body), "dapr-api-token", "no internals in the public contract")
		var c publicContract
		require.NoError(t, yaml.Unmarshal(a.body, &c), app)
		require.NotEmpty(t, c.Paths, app)
		for path, ops := range c.Paths {
			if _, ok := ops["get"]; !ok {
				continue
			}
			contract := app
			if !strings.HasPrefix(path, "/api/v1/") {
				contract = "" // the JWKS: at the root, outside the contract's server
			}
			got := do(t, env, call{method: http.MethodGet, path: pathParam.ReplaceAllString(path, "0190f5c2-0000-7000-8000-000000000000"),
				header: bearer(admin.token), contract: contract})
			var envelope struct{ Error struct{ Message string } }
			_ = json.Unmarshal(got.body, &envelope)
			assert.NotEqual(t, "Route not found", envelope.Error.Message, "GET %s is documented but not routed", path)
			assert.Less(t, got.status, 500, "GET %s: %d %s", path, got.status, got.body)
			checked++
		}
	}
	t.Logf("%d documented GETs answered through the gateway", checked)
	assert.Greater(t, checked, 15)
}

func TestDocsCanBeTurnedOff(t *testing.T) {
	env := testenv.Start(t, []string{"gateway"}, testenv.WithEnv("gateway", "DOCS_ENABLED=false"))
	for _, path := range []string{"/docs", "/docs/openapi/product.yaml", "/docs/swagger-ui-bundle.js"} {
		assert.Equal(t, http.StatusNotFound, do(t, env, call{method: http.MethodGet, path: path}).status, path)
	}
}
