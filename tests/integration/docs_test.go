package integration

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	documented := map[string]int{} // operations per contract
	for _, app := range []string{"auth", "user", "product", "inventory"} {
		a := do(t, env, call{method: http.MethodGet, path: "/docs/openapi/" + app + ".yaml"})
		require.Equal(t, http.StatusOK, a.status, app)
		assert.NotContains(t, string(a.body), "dapr-api-token", "no internals in the public contract")
		var c publicContract
		require.NoError(t, yaml.Unmarshal(a.body, &c), app)
		require.NotEmpty(t, c.Paths, app)
		for path, ops := range c.Paths {
			for method := range ops {
				if method != "parameters" {
					documented[app]++
				}
			}
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

	inABrowser(t, env, admin.token, documented)
}

// inABrowser loads /docs in headless Chromium (tests/browser/docs.mjs):
// the page lists every operation of every contract, takes an access token
// and makes a call with it through the gateway, and asks nothing of any
// other origin (no CDN). The screenshot goes to SCREENSHOT_DIR when set
// (make screenshots: docs/screenshots), else to a temporary directory.
func inABrowser(t *testing.T, env *testenv.Env, token string, documented map[string]int) {
	t.Helper()
	dir := filepath.Join("..", "browser")
	_, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core"))
	require.NoError(t, err, "playwright-core is missing: make deps (npm ci in tests/browser)")
	_, err = os.Stat(cmp.Or(os.Getenv("CHROMIUM"), "/usr/bin/chromium"))
	require.NoError(t, err, "Chromium is missing: apt-get install chromium (.ci/run does)")
	shots := cmp.Or(os.Getenv("SCREENSHOT_DIR"), t.TempDir())
	require.NoError(t, os.MkdirAll(shots, 0o755))
	shot, err := filepath.Abs(filepath.Join(shots, "api-docs.png"))
	require.NoError(t, err)

	cmd := exec.CommandContext(t.Context(), "node", "docs.mjs", env.URL("gateway"), token, shot)
	cmd.Dir = dir
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("docs.mjs: %v\n%s%s", err, out, exit.Stderr)
	}
	require.NoError(t, err)
	var seen struct {
		Operations map[string]int
		Status     string
		Offsite    []string
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &seen), "%s", out)
	t.Logf("the page shows %v; the call made from it answered %s; screenshot %s", seen.Operations, seen.Status, shot)
	for app, n := range documented {
		assert.Equal(t, n, seen.Operations[app], "the page shows every operation of %s", app)
	}
	assert.NotZero(t, seen.Operations["gateway"], "and the gateway's own")
	assert.Equal(t, "200", seen.Status, "GET /api/v1/auth/me from the page, with the token it was given")
	assert.Empty(t, seen.Offsite, "everything the page needs comes from the gateway")
	info, err := os.Stat(shot)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(10_000))
}

func TestDocsCanBeTurnedOff(t *testing.T) {
	env := testenv.Start(t, []string{"gateway"}, testenv.WithEnv("gateway", "DOCS_ENABLED=false"))
	for _, path := range []string{"/docs", "/docs/openapi/product.yaml", "/docs/swagger-ui-bundle.js"} {
		assert.Equal(t, http.StatusNotFound, do(t, env, call{method: http.MethodGet, path: path}).status, path)
	}
}
