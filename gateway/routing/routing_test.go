package routing

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		path, wantApp, wantPath string
		wantOK                  bool
	}{
		{"/api/v1/products", "product", "/products", true},
		{"/api/v1/products/5", "product", "/products/5", true},
		{"/api/v1/products/5/variants", "product", "/products/5/variants", true},
		{"/api/v1/categories/9", "product", "/categories/9", true},
		{"/api/v1/auth/login", "auth", "/auth/login", true},
		{"/api/v1/users/me/addresses", "user", "/users/me/addresses", true},
		{"/api/v1/inventory/sku-1/reserve", "inventory", "/inventory/sku-1/reserve", true},
		{"/.well-known/jwks.json", "auth", "/.well-known/jwks.json", true},
		{"/api/v1/productsX", "", "", false},
		{"/api/v1/orders", "", "", false},
		{"/api/v2/products", "", "", false},
		{"/", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := Match(Table, tt.path)
			assert.Equal(t, tt.wantOK, ok)
			if ok {
				assert.Equal(t, tt.wantApp, got.Route.App)
				assert.Equal(t, tt.wantPath, got.Path)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	tests := []struct {
		method, path string
		want         bool
	}{
		{http.MethodPost, "/api/v1/auth/login", true},
		{http.MethodPost, "/api/v1/auth/register", true},
		{http.MethodPost, "/api/v1/auth/refresh-token", true},
		{http.MethodPost, "/api/v1/auth/register-anything", false},
		{http.MethodPost, "/api/v1/auth/logout", true},
		{http.MethodGet, "/api/v1/auth/me", false},
		{http.MethodGet, "/api/v1/products/5", true},
		{http.MethodHead, "/api/v1/products", true},
		{http.MethodPost, "/api/v1/products", false},
		{http.MethodDelete, "/api/v1/categories/1", false},
		{http.MethodGet, "/api/v1/categories", true},
		{http.MethodGet, "/api/v1/inventory/sku-1", true},
		{http.MethodGet, "/api/v1/inventory", true},
		{http.MethodPost, "/api/v1/inventory/reserve", false},
		{http.MethodGet, "/api/v1/inventory/reservations", false},
		{http.MethodGet, "/api/v1/inventory/reservations/01a2", false},
		{http.MethodGet, "/api/v1/inventory/RESERVATIONS/01a2", false},
		{http.MethodGet, "/api/v1/inventory/reservations-sku", true},
		{http.MethodGet, "/api/v1/users/me", false},
		{http.MethodGet, "/.well-known/jwks.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			target, ok := Match(Table, tt.path)
			assert.True(t, ok)
			assert.Equal(t, tt.want, target.Route.Public(tt.method, tt.path))
		})
	}
}

func TestIdempotent(t *testing.T) {
	assert.True(t, Idempotent(http.MethodGet))
	assert.True(t, Idempotent(http.MethodHead))
	assert.False(t, Idempotent(http.MethodPost))
	assert.False(t, Idempotent(http.MethodDelete))
}

func TestStrict(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/auth/login":         true,
		"/api/v1/auth/register":      true,
		"/api/v1/auth/refresh-token": true,
		"/api/v1/auth/logout":        true,
		"/api/v1/auth/me":            false,
		"/.well-known/jwks.json":     false,
		"/api/v1/products":           false,
	} {
		target, ok := Match(Table, path)
		assert.True(t, ok, path)
		assert.Equal(t, want, target.Route.Strict(path), path)
	}
}

// Auth serves the gateway's own reads (GET /revocations) outside every
// prefix a public route forwards to: no public path can name them.
func TestNoPublicRouteReachesAuthsInternalPaths(t *testing.T) {
	for _, r := range Table {
		if r.App != "auth" {
			continue
		}
		assert.Contains(t, []string{"/auth", "/.well-known/jwks.json"}, r.Upstream, "a new upstream prefix on auth: check what it exposes")
	}
	for _, path := range []string{"/revocations", "/api/v1/revocations", "/api/v1/auth/../revocations"} {
		if target, ok := Match(Table, path); ok {
			assert.NotEqual(t, "/revocations", target.Path, path)
		}
	}
}
