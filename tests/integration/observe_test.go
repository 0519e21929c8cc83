package integration

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
)

// make observe's Prometheus (Debian's package) scrapes every app and
// sidecar of a running stack, and the QeetMart console renders their
// numbers while load runs: every app's row has a request rate, the graph
// draws, and every metric the console asks for is one the stack exports.
func TestObserveShowsTheStack(t *testing.T) {
	_, err := exec.LookPath("prometheus")
	require.NoError(t, err, "prometheus is missing: make observe-deps (apt-get install prometheus)")
	env := adminEnvOf(t, []string{"user", "product", "inventory"})
	admin := logIn(t, env, "root@example.com", userAdminPassword)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	log, err := os.Create(filepath.Join(t.TempDir(), "prometheus.log"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	prom, err := stack.Prometheus(ctx, testenv.RepoRoot(t), t.TempDir(), addr, env.ScrapeConfig("1s"), log)
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); _ = prom.Wait() })
	base := "http://" + addr

	// Load on every app while the test looks.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, path := range []string{"/api/v1/products", "/api/v1/categories", "/api/v1/auth/me", "/api/v1/users/" + admin.id,
				"/api/v1/inventory/0190f5c2-0000-7000-8000-00000000beef"} {
				_, _ = send(t, env, call{method: http.MethodGet, path: path, header: bearer(admin.token)})
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	query := func(q string) []any {
		resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct{ Data struct{ Result []any } }
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r.Data.Result
	}
	targets := 2*len(env.Apps()) + 1
	require.Eventually(t, func() bool { return len(query("up == 1")) == targets }, 90*time.Second, 500*time.Millisecond,
		"Prometheus scrapes every app, every sidecar and Sentry (%d targets)", targets)

	console := base + "/consoles/qeetmart.html"
	row := regexp.MustCompile(`(?s)<tr class="app-row" data-app="([a-z]+)">\s*<td>[a-z]+</td>\s*<td class="value">([0-9.]+)</td>`)
	var page string
	require.Eventually(t, func() bool {
		resp, err := http.Get(console)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		page = string(raw)
		busy := 0
		for _, m := range row.FindAllStringSubmatch(page, -1) {
			if m[2] != "0.00" {
				busy++
			}
		}
		return resp.StatusCode == http.StatusOK && busy == len(env.Apps())
	}, 90*time.Second, time.Second, "every app's row shows its request rate")
	assert.Contains(t, page, `<td>/products</td>`, "the routes table names route templates")
	assert.Regexp(t, `(?s)id="sidecars".*<td>gateway</td><td class="value">[0-9.]+</td>`, page, "the sidecars' latency")

	// Every metric the console asks for exists in the live stack.
	template, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "observe", "consoles", "qeetmart.html"))
	require.NoError(t, err)
	names := regexp.MustCompile(`\b((?:http_server|dapr|auth|inventory|product|gateway)_[a-z_]+?)(?:_bucket|_count|_sum)?\b[{\[)]`).FindAllStringSubmatch(string(template), -1)
	require.NotEmpty(t, names)
	var missing []string
	for _, n := range names {
		if len(query(fmt.Sprintf("count({__name__=~%q})", n[1]+"(_bucket|_count|_sum)?"))) == 0 && !slices.Contains(missing, n[1]) {
			missing = append(missing, n[1])
		}
	}
	assert.Empty(t, missing, "metrics the console queries that the stack does not export")

	// And in a browser: the graph draws.
	dir := filepath.Join("..", "browser")
	shots := cmp.Or(os.Getenv("SCREENSHOT_DIR"), t.TempDir())
	require.NoError(t, os.MkdirAll(shots, 0o755))
	shot, err := filepath.Abs(filepath.Join(shots, "console.png"))
	require.NoError(t, err)
	out, err := exec.CommandContext(t.Context(), "node", filepath.Join(dir, "console.mjs"), console, shot).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var seen struct{ Rows, Lines int }
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &seen), "%s", out)
	t.Logf("console: %d app rows, %d lines drawn; screenshot %s", seen.Rows, seen.Lines, shot)
	assert.Equal(t, len(env.Apps()), seen.Rows)
	assert.NotZero(t, seen.Lines)
}
