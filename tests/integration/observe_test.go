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
	testenv.SkipShort(t)
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

	// The Grafana dashboards shipped for Compose and Kubernetes: every
	// metric they query is one the stack exports, and every query of
	// QeetMart's own has data (the job and app labels hold).
	overview := dashboardQueries(t, filepath.Join(testenv.RepoRoot(t), "observe", "dashboards", "qeetmart-overview.json"))
	for _, expr := range overview {
		assert.Empty(t, unexported(query, expr), "the overview queries metrics the stack does not export: %s", expr)
	}
	grafana := strings.NewReplacer("$__rate_interval", "1m", "$app", ".*")
	for _, expr := range overview {
		assert.Eventually(t, func() bool { return len(query(grafana.Replace(expr))) > 0 }, 30*time.Second, time.Second,
			"the overview's query has data: %s", expr)
	}
	daprDir, err := exec.Command(filepath.Join(testenv.RepoRoot(t), "scripts", "module-dir.sh"),
		"github.com/dapr/dapr@v"+cmp.Or(os.Getenv("DAPR_VERSION"), "1.18.0")).Output()
	require.NoError(t, err)
	dapr, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(daprDir)), "grafana", "grafana-*.json"))
	require.NoError(t, err)
	require.Len(t, dapr, 3, "Dapr's three dashboards")
	absent := map[string]bool{}
	for _, file := range dapr {
		for _, expr := range dashboardQueries(t, file) {
			for _, name := range unexported(query, expr) {
				absent[name] = true
			}
		}
	}
	assert.Equal(t, daprOnlyElsewhere, absent,
		"the metrics of Dapr's dashboards this stack does not export are exactly the known ones")

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

// make observe's trace backend: Jaeger v2 (built like daprd) receives the
// apps' and sidecars' spans, and a person holding a response finds its
// trace by the id in its traceparent header, over Jaeger's query API.
func TestObserveFindsATraceByID(t *testing.T) {
	testenv.SkipShort(t)
	root := testenv.RepoRoot(t)
	_, err := os.Stat(filepath.Join(root, "bin", "jaeger"))
	require.NoError(t, err, "bin/jaeger is missing: make observe-deps (scripts/build-jaeger.sh)")
	free := func() string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer lis.Close()
		return lis.Addr().String()
	}
	otlp, query := free(), free()
	log, err := os.Create(filepath.Join(t.TempDir(), "jaeger.log"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	jaeger, err := stack.Jaeger(ctx, root, otlp, query, log)
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); _ = jaeger.Wait() })

	env := adminEnv(t, "product", testenv.WithTraces(otlp))
	a := do(t, env, call{method: http.MethodGet, path: "/api/v1/categories"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	id := traceOf(t, a)

	var services []string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + query + "/api/traces/" + id)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r struct {
			Data []struct {
				Spans     []struct{ ProcessID string }
				Processes map[string]struct{ ServiceName string }
			}
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data) != 1 {
			return false
		}
		services = services[:0]
		for _, s := range r.Data[0].Spans {
			if name := r.Data[0].Processes[s.ProcessID].ServiceName; !slices.Contains(services, name) {
				services = append(services, name)
			}
		}
		return slices.Contains(services, "gateway") && slices.Contains(services, "product")
	}, 60*time.Second, 300*time.Millisecond, "trace %s in Jaeger, with the gateway's and the product's spans (got %v)", id, services)
	t.Logf("trace %s in Jaeger: services %v", id, services)
}

// daprOnlyElsewhere are the metrics Dapr's dashboards query that a
// QeetMart stack does not export, and why (read in daprd 1.18's
// pkg/diagnostics). The test fails when one appears, or another goes.
var daprOnlyElsewhere = map[string]bool{
	// Kubernetes only: cAdvisor's, and the sidecar injector's.
	"container_cpu_usage_seconds_total":               true,
	"dapr_injector_sidecar_injection_requests_total":  true,
	"dapr_injector_sidecar_injection_succeeded_total": true,
	// Actors and their placement: QeetMart hosts no actors.
	"dapr_placement_actor_runtimes_total":           true,
	"dapr_placement_runtimes_total":                 true,
	"dapr_runtime_actor_deactivated_failed_total":   true,
	"dapr_runtime_actor_deactivated_total":          true,
	"dapr_runtime_actor_pending_actor_calls":        true,
	"dapr_runtime_actor_rebalanced_total":           true,
	"dapr_runtime_actor_status_report_fail_total":   true,
	"dapr_runtime_actor_status_report_total":        true,
	"dapr_runtime_actor_table_operation_recv_total": true,
	// gRPC: recorded for the gRPC API and gRPC proxying; every QeetMart
	// call is HTTP, and the sidecars' invocation streams are not recorded.
	"dapr_grpc_io_client_completed_rpcs":           true,
	"dapr_grpc_io_client_roundtrip_latency_bucket": true,
	"dapr_grpc_io_server_completed_rpcs":           true,
	"dapr_grpc_io_server_server_latency_bucket":    true,
	// Recorded only with increasedCardinality or pathMatching, which
	// dapr/config leaves off to keep series bounded (request_count and
	// latency carry the status).
	"dapr_http_server_response_count": true,
	// Absent from a live daprd 1.18 with mTLS on (recorded, by its code,
	// before the views are registered).
	"dapr_runtime_mtls_init_total": true,
	// Failures, rotations and CA changes: a series appears with the first
	// one (the stack gives Sentry its CA before it starts, so it never
	// changes; before that, Sentry's reload of its own CA made this one).
	"dapr_sentry_issuercert_changed_total":               true,
	"dapr_runtime_component_init_fail_total":             true,
	"dapr_runtime_mtls_init_fail_total":                  true,
	"dapr_runtime_mtls_workload_cert_rotated_fail_total": true,
	"dapr_runtime_mtls_workload_cert_rotated_total":      true,
	"dapr_sentry_cert_sign_failure_total":                true,
	"dapr_sentry_servercert_issue_failed_total":          true,
}

// dashboardQueries are the PromQL expressions of a Grafana dashboard's
// panels (rows included).
func dashboardQueries(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	var dashboard any
	require.NoError(t, json.Unmarshal(raw, &dashboard), file)
	var exprs []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok && e != "" {
				exprs = append(exprs, e)
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(dashboard)
	require.NotEmpty(t, exprs, file)
	return exprs
}

// promQLNoise is what in a PromQL expression is not a metric name:
// selectors' labels, ranges, grouping clauses and strings.
var promQLNoise = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|"[^"]*"`)

// promQLName is an identifier: a metric name unless it is a $variable or a
// call.
var promQLName = regexp.MustCompile(`(\$?)([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?`)

// unexported are the metrics expr names that the Prometheus behind query
// has no series of.
func unexported(query func(string) []any, expr string) []string {
	var names []string
	for _, m := range promQLName.FindAllStringSubmatch(promQLNoise.ReplaceAllString(expr, " "), -1) {
		name := m[2]
		if m[1] != "" || m[3] != "" || !strings.Contains(name, "_") || slices.Contains(names, name) {
			continue // a variable, a function, a keyword
		}
		if len(query(fmt.Sprintf("count({__name__=%q})", name))) == 0 {
			names = append(names, name)
		}
	}
	return names
}
