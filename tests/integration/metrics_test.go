package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrape reads app's /metrics on its admin address.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(raw)
}

// Every app exports RED metrics of its routes on its admin address, under
// the route template: never a raw path, so an id in a URL makes no new
// series.
func TestEveryAppExportsREDMetrics(t *testing.T) {
	env := adminEnvOf(t, []string{"user", "product", "inventory"})
	admin := logIn(t, env, "root@example.com", userAdminPassword)
	const id = "0190f5c2-0000-7000-8000-00000000beef"
	for _, path := range []string{"/products/" + id, "/categories", "/inventory/" + id, "/users/" + id} {
		do(t, env, call{method: http.MethodGet, path: "/api/v1" + path, header: bearer(admin.token)})
	}
	routes := map[string]string{
		"gateway":   `http_route="/api/*"`,
		"auth":      `http_route="/auth/login"`,
		"product":   `http_route="/products/:id"`,
		"inventory": `http_route="/inventory/:productId"`,
		"user":      `http_route="/users/:userId"`,
	}
	for app, route := range routes {
		metrics := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", env.Ports(app).Admin))
		assert.Contains(t, metrics, "http_server_request_duration_seconds_bucket{", app)
		found := false
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, "http_server_request_duration_seconds_count{") && strings.Contains(line, route) {
				found = true
			}
		}
		assert.True(t, found, "%s counts requests under %s", app, route)
		assert.NotContains(t, metrics, id, "%s: no raw path in a label", app)
		assert.Contains(t, metrics, "go_goroutines", app)
	}
	// Each program's own series, as an operator reads them.
	own := map[string][]string{
		"gateway": {`gateway_jwks_refreshes_total{result="ok"}`, `gateway_requests_total{`,
			// series that start at 0, before anything is refused
			`gateway_auth_rejected_total{reason="token revoked"} 0`, `gateway_upstream_errors_total{app="inventory",code="GATEWAY_TIMEOUT"} 0`,
			`gateway_rate_limited_total{route="/api/v1/products"} 0`},
		"auth":    {`auth_logins_total{outcome="ok"}`, "auth_hash_queue_length 0", `auth_throttle_locks_total{scope="address"} 0`},
		"product": {"product_events_backlog_age_seconds", `product_cache_lookups_total{kind="product",result="miss"}`},
		"inventory": {"inventory_books_violations_total 0", `inventory_operations_total{operation="reserve",outcome="not_found"} 1`,
			`inventory_expiry_sweeps_total{result="failed"} 0`, "inventory_expiry_swept_total 0",
			"inventory_allotment_reclaimed_units_total 0"},
	}
	a := do(t, env, call{method: http.MethodPost, path: "/api/v1/inventory/reserve", header: withJSON(bearer(admin.token)),
		body: `{"orderId":"o-1","items":[{"productId":"` + id + `","quantity":1}]}`})
	assert.Equal(t, http.StatusNotFound, a.status, "%s", a.body)
	for app, series := range own {
		metrics := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", env.Ports(app).Admin))
		for _, s := range series {
			assert.Contains(t, metrics, s, app)
		}
	}
}

func withJSON(h map[string]string) map[string]string {
	h["Content-Type"] = "application/json"
	return h
}
