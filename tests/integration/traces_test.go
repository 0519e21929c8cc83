package integration

import (
	"encoding/json"
	"net/http"
	"os"
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
	var roots []testenv.Span
	for _, s := range spans {
		if _, ok := byID[s.ParentID]; !ok {
			roots = append(roots, s)
		}
	}
	require.Len(t, roots, 1, "one root: every span joins the trace")
	assert.Equal(t, "gateway", roots[0].Service)
	assert.Equal(t, "SPAN_KIND_SERVER", roots[0].Kind)
	assert.Equal(t, "/api/*", roots[0].Attributes["http.route"])

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
