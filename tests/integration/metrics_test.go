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
	assert.Contains(t, scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", env.Ports("product").Admin)),
		"product_events_backlog_age_seconds", "the product relay's backlog")
}
