package apidocs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/qeetmart/qeetmart/gateway/routing"
)

type contract struct {
	Servers    []struct{ URL string }
	Paths      map[string]map[string]yaml.Node
	Components struct {
		SecuritySchemes map[string]map[string]string `yaml:"securitySchemes"`
	}
}

// security is the security requirement of one operation.
func (c contract) security(t *testing.T, path, method string) []map[string][]string {
	t.Helper()
	node, ok := c.Paths[path][method]
	require.True(t, ok, "%s %s", method, path)
	var op struct{ Security []map[string][]string }
	require.NoError(t, node.Decode(&op))
	return op.Security
}

func rendered(t *testing.T, d *Docs, app string) (contract, string) {
	t.Helper()
	raw, ok := d.specs[app+".yaml"]
	require.True(t, ok, app)
	var c contract
	require.NoError(t, yaml.Unmarshal(raw, &c))
	return c, string(raw)
}

func TestContractsAreRenderedAsTheGatewayServesThem(t *testing.T) {
	d, err := New(routing.Table)
	require.NoError(t, err)

	product, raw := rendered(t, d, "product")
	assert.Equal(t, "/", product.Servers[0].URL, "tried from the page, calls go to this gateway")
	assert.Contains(t, product.Paths, "/api/v1/products/{id}")
	assert.Contains(t, product.Paths, "/api/v1/categories")
	assert.Empty(t, product.security(t, "/api/v1/products/{id}", "get"), "anonymous catalog reads")
	assert.Equal(t, []map[string][]string{{bearer: {}}}, product.security(t, "/api/v1/products/{id}", "put"), "writes need a token")
	for path := range product.Paths {
		assert.Regexp(t, `^/api/v1/(products|categories)`, path, "only what the gateway routes")
	}
	assert.Equal(t, map[string]map[string]string{bearer: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
		"description": "An access token from POST /api/v1/auth/login."}}, product.Components.SecuritySchemes)
	assert.NotContains(t, raw, "/ready")
	assert.NotContains(t, string(d.specs["gateway.yaml"]), "/dapr/", "the routes only the gateway's sidecar calls are left out")
	for file, spec := range d.specs {
		assert.NotContains(t, string(spec), "dapr-api-token", "%s: the sidecar's token is an internal", file)
		assert.NotContains(t, string(spec), ":3500", "%s: so is the sidecar's address", file)
	}

	auth, _ := rendered(t, d, "auth")
	assert.Empty(t, auth.security(t, "/api/v1/auth/login", "post"))
	assert.NotEmpty(t, auth.security(t, "/api/v1/auth/me", "get"))
	assert.Contains(t, auth.Paths, "/.well-known/jwks.json")

	inventory, _ := rendered(t, d, "inventory")
	assert.Empty(t, inventory.security(t, "/api/v1/inventory/{productId}", "get"), "availability is public")
	assert.NotEmpty(t, inventory.security(t, "/api/v1/inventory/reservations", "get"), "reservations are the caller's own")
}

func TestThePageAndTheContractsAreServed(t *testing.T) {
	d, err := New(routing.Table)
	require.NoError(t, err)
	limited := 0
	app := fiber.New()
	d.Register(app, func(c fiber.Ctx) error { limited++; return c.Next() })

	get := func(path string) (*http.Response, string) {
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil))
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	resp, body := get("/docs")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "swagger-ui")
	assert.Contains(t, body, "/docs/openapi/inventory.yaml", "every contract is on the page's list")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "connect-src 'self'")
	resp, body = get("/docs/swagger-ui-bundle.js")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the assets are in the binary")
	assert.Greater(t, len(body), 100_000)
	resp, _ = get("/docs/openapi/common.yaml")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the shared schemas the contracts refer to")
	resp, _ = get("/docs/openapi/secrets.yaml")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, 4, limited, "every request is rate limited")
}
