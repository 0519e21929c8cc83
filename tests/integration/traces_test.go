package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

// traceOf is the trace id in an answer's traceparent (W3C).
func traceOf(t *testing.T, a answer) string {
	t.Helper()
	parts := strings.Split(a.header.Get("traceparent"), "-")
	require.Len(t, parts, 4, "traceparent %q", a.header.Get("traceparent"))
	return parts[1]
}

// One request through the gateway is one trace: the gateway's server span
// is its only root, and every other span (the gateway's sidecar calling
// out, the target sidecar, the service's server span, the service's state
// calls through its sidecar) descends from it, exported by the apps and
// their sidecars to a real OTLP receiver. The event the write made is
// published in a trace of its own linked to the request's, and its
// delivery to the inventory continues that trace.
func TestOneTracePerRequest(t *testing.T) {
	traces := testenv.StartTraces(t)
	env := adminEnvOf(t, []string{"product", "inventory"}, testenv.WithTraces(traces.Addr))
	admin, audio := catalogAdmin(t, env)

	a := admin.call(http.MethodPost, "/products", map[string]any{"name": "Traced", "brand": "Acme", "categoryId": audio,
		"price": 5, "currency": "USD", "status": "ACTIVE"})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	id := traceOf(t, a)

	var spans []testenv.Span
	has := func(service, kind string, match func(testenv.Span) bool) bool {
		for _, s := range spans {
			if s.Service == service && s.Kind == kind && (match == nil || match(s)) {
				return true
			}
		}
		return false
	}
	appServer := func(route string) func(testenv.Span) bool {
		return func(s testenv.Span) bool { return s.Attributes["http.route"] == route }
	}
	complete := func() bool {
		spans = traces.Trace(id)
		return has("gateway", "SPAN_KIND_SERVER", appServer("/api/*")) &&
			has("product", "SPAN_KIND_SERVER", appServer("/products")) &&
			has("gateway", "SPAN_KIND_CLIENT", nil) && // the gateway's sidecar invoking product
			has("product", "SPAN_KIND_CLIENT", func(s testenv.Span) bool { return strings.Contains(strings.ToLower(s.Name), "state") })
	}
	require.Eventually(t, complete, 60*time.Second, 200*time.Millisecond, "the request's spans reach the receiver")
	time.Sleep(time.Second) // late spans of the same request
	spans = traces.Trace(id)
	for _, s := range spans {
		t.Logf("%s %s %-22s %-40q parent=%s %v", s.SpanID, s.Service, s.Kind, s.Name, s.ParentID, s.Attributes["http.route"])
	}

	byID := map[string]testenv.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	root := rootOf(t, spans)
	assert.Equal(t, "gateway", root.Service)
	assert.Equal(t, "SPAN_KIND_SERVER", root.Kind)
	assert.Equal(t, "/api/*", root.Attributes["http.route"])

	// The hops, in order, from the state transaction up to the root.
	var hops []string
	for _, s := range spans {
		if s.Service == "product" && strings.HasSuffix(s.Name, "/state/product-store/transaction") {
			for cur, ok := s, true; ok; cur, ok = byID[cur.ParentID] {
				hops = append(hops, cur.Service+" "+cur.Kind+" "+cur.Name)
			}
		}
	}
	assert.Equal(t, []string{
		"product SPAN_KIND_CLIENT /v1.0/state/product-store/transaction", // the product's sidecar, to PostgreSQL
		"product SPAN_KIND_CLIENT HTTP POST",                             // the service, to its sidecar
		"product SPAN_KIND_SERVER POST /products",                        // the service
		"product SPAN_KIND_SERVER CallLocal/product/products",            // the product's sidecar, called
		"gateway SPAN_KIND_CLIENT CallLocal/product.default/products",    // the gateway's sidecar, calling
		"gateway SPAN_KIND_CLIENT HTTP POST",                             // the gateway, to its sidecar
		"gateway SPAN_KIND_SERVER POST /api/*",                           // the gateway
	}, hops)

	// A log line leads to its trace and span.
	var server testenv.Span
	for _, s := range spans {
		if s.Service == "product" && s.Name == "POST /products" {
			server = s
		}
	}
	logged, err := os.ReadFile(env.LogFile("product"))
	require.NoError(t, err)
	found := false
	for _, line := range strings.Split(string(logged), "\n") {
		var l struct{ Msg, Route, TraceID, SpanID, CorrelationID string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.TraceID == id {
			found = true
			assert.Equal(t, server.SpanID, l.SpanID, "the access log names the service's server span")
			assert.Equal(t, a.header.Get("X-Correlation-Id"), l.CorrelationID)
		}
	}
	assert.True(t, found, "the product logged the request with its trace id")

	var relayed []testenv.Span
	delivered := func() bool {
		for _, publish := range traces.Linked(id) {
			relayed = traces.Trace(publish.TraceID)
			for _, s := range relayed {
				if s.Service == "inventory" && s.Kind == "SPAN_KIND_SERVER" && s.Attributes["http.route"] == "/dapr/events/products" {
					return true
				}
			}
		}
		return false
	}
	require.Eventually(t, delivered, 60*time.Second, 200*time.Millisecond,
		"the event's publication links to the request, and its delivery to the inventory is in the publication's trace")
	for _, s := range relayed {
		t.Logf("relay trace: %s %s %-22s %q parent=%s", s.SpanID, s.Service, s.Kind, s.Name, s.ParentID)
	}
}

// A representative call to every service is one trace rooted at the
// gateway's server span, with the service's server span in it under its
// route template; both carry the answer's status, and a 5xx (the user
// service stopped behind a live sidecar) marks the gateway's span an error
// while a 4xx does not (OpenTelemetry's HTTP server conventions).
func TestEveryServiceJoinsTheTrace(t *testing.T) {
	traces := testenv.StartTraces(t)
	env := adminEnvOf(t, []string{"user", "product", "inventory"}, testenv.WithTraces(traces.Addr))
	admin := logIn(t, env, "root@example.com", userAdminPassword)
	const missing = "0190f5c2-0000-7000-8000-00000000beef"

	calls := []struct {
		app, route string
		call       call
		status     int
	}{
		{"auth", "/auth/login", call{method: http.MethodPost, path: "/api/v1/auth/login", header: map[string]string{"Content-Type": "application/json"},
			body: jsonOf(map[string]string{"email": "root@example.com", "password": userAdminPassword})}, http.StatusOK},
		{"user", "/users/:userId", call{method: http.MethodGet, path: "/api/v1/users/" + admin.id, header: bearer(admin.token)}, http.StatusNotFound}, // no profile yet
		{"product", "/categories", call{method: http.MethodGet, path: "/api/v1/categories"}, http.StatusOK},
		{"inventory", "/inventory/:productId", call{method: http.MethodGet, path: "/api/v1/inventory/" + missing, header: bearer(admin.token)}, http.StatusNotFound},
	}
	for _, c := range calls {
		a := do(t, env, c.call)
		require.Equal(t, c.status, a.status, "%s: %s", c.app, a.body)
		spans := spansOf(t, traces, traceOf(t, a), func(s testenv.Span) bool {
			return s.Service == c.app && s.Kind == "SPAN_KIND_SERVER" && s.Attributes["http.route"] == c.route
		})
		root := rootOf(t, spans)
		status := fmt.Sprint(c.status)
		assert.Equal(t, "gateway", root.Service, c.app)
		assert.Equal(t, root.SpanID, strings.Split(a.header.Get("traceparent"), "-")[2], "%s: the answer names the gateway's span", c.app)
		assert.Equal(t, status, root.Attributes["http.response.status_code"], c.app)
		assert.False(t, root.Error, "%s: a %d is not the server's error", c.app, c.status)
		for _, s := range spans {
			if s.Service == c.app && s.Kind == "SPAN_KIND_SERVER" && s.Attributes["http.route"] == c.route {
				assert.Equal(t, status, s.Attributes["http.response.status_code"], c.app)
				assert.False(t, s.Error, c.app)
			}
		}
	}

	require.NoError(t, env.StopAppOnly("user"))
	a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/" + admin.id, header: bearer(admin.token)})
	require.GreaterOrEqual(t, a.status, 500, "%s", a.body)
	spans := spansOf(t, traces, traceOf(t, a), func(s testenv.Span) bool {
		return s.Service == "gateway" && s.Kind == "SPAN_KIND_SERVER"
	})
	root := rootOf(t, spans)
	assert.Equal(t, fmt.Sprint(a.status), root.Attributes["http.response.status_code"])
	assert.True(t, root.Error, "a %d marks the gateway's span an error", a.status)

	// An answer the gateway makes alone names its trace too.
	a = do(t, env, call{method: http.MethodGet, path: "/api/v1/users/" + admin.id})
	require.Equal(t, http.StatusUnauthorized, a.status)
	root = rootOf(t, spansOf(t, traces, traceOf(t, a), func(s testenv.Span) bool { return s.Service == "gateway" }))
	assert.Equal(t, "401", root.Attributes["http.response.status_code"])
}

// spansOf is trace id's spans once one matches want (and a second more, for
// late spans of the same request).
func spansOf(t *testing.T, traces *testenv.Traces, id string, want func(testenv.Span) bool) []testenv.Span {
	t.Helper()
	require.Eventually(t, func() bool { return slices.ContainsFunc(traces.Trace(id), want) }, 60*time.Second, 200*time.Millisecond,
		"trace %s reaches the receiver", id)
	time.Sleep(time.Second)
	return traces.Trace(id)
}

// rootOf is the one span of spans whose parent is not among them.
func rootOf(t *testing.T, spans []testenv.Span) testenv.Span {
	t.Helper()
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	var roots []testenv.Span
	for _, s := range spans {
		if !ids[s.ParentID] {
			roots = append(roots, s)
		}
	}
	require.Len(t, roots, 1, "one root: every span joins the trace")
	return roots[0]
}
