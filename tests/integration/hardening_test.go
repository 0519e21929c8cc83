package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// raw sends request exactly as written (no client cleans or re-encodes
// it) and reads one answer.
func raw(t *testing.T, addr, request string) answer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "an answer to %q", request)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

func gatewayAddr(env *testenv.Env) string { return strings.TrimPrefix(env.URL("gateway"), "http://") }

// A public request reaches only /v1.0/invoke/<routed app>/method/<routed
// prefix>/… on the gateway's sidecar: no path, however encoded, reaches the
// sidecar's own API (metadata, publish, state, shutdown) or another app.
func TestGatewayPathsReachOnlyTheInvokeRoute(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	token := signer.Access("user-1", "session-1")
	addr := gatewayAddr(env)

	up := "/api/v1/products/../../../../.."
	attacks := []struct{ method, path string }{
		{"GET", up + "/v1.0/metadata"},
		{"POST", up + "/v1.0/publish/revocations/revocations"},
		{"POST", up + "/v1.0/publish/events/anything"},
		{"GET", up + "/v1.0/state/auth-store/keys"},
		{"POST", up + "/v1.0/shutdown"},
		{"GET", up + "/v1.0/invoke/auth/method/auth/users"},
		{"GET", "/api/v1/products/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/v1.0/metadata"},
		{"GET", "/api/v1/products/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/v1.0/metadata"},
		{"GET", "/api/v1/products/..%2f..%2f..%2f..%2f..%2fv1.0%2fmetadata"},
		{"GET", `/api/v1/products/..\..\..\..\..\v1.0\metadata`},
		{"GET", "/api/v1/products/.%2e/.%2e/.%2e/.%2e/.%2e/v1.0/metadata"},
		{"POST", "/api/v1/products/./../../../../../v1.0/shutdown"},
		{"GET", "/api/v1//products/../../../../v1.0/metadata"},
		{"GET", "/api/v1/products/%00/../../../../../v1.0/metadata"},
		{"GET", "/api/v1/products/%zz"},
		{"GET", "/v1.0/metadata"},
		{"POST", "/v1.0/shutdown"},
		{"GET", "/v1.0/invoke/auth/method/auth/users"},
		{"GET", "http://127.0.0.1:1" + up + "/v1.0/metadata"},
	}
	for _, a := range attacks {
		for _, auth := range []string{"", "Authorization: Bearer " + token + "\r\n"} {
			req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\n%sX-Echo-Id: attack\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", a.method, a.path, auth)
			got := raw(t, addr, req)
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound}, got.status,
				"%s %s (token: %t): %s", a.method, a.path, auth != "", got.body)
			assert.NotContains(t, string(got.body), "components", "no sidecar metadata in %s %s", a.method, a.path)
			assert.Equal(t, "nosniff", got.header.Get("X-Content-Type-Options"))
		}
	}
	for _, app := range []string{"auth", "user", "product", "inventory"} {
		assert.Zero(t, seenBy(t, env, app, token, "attack"), "no attack reached %s", app)
	}
	resp, err := http.Get(env.SidecarURL("gateway") + "/v1.0/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "the gateway's sidecar is still up: no shutdown got through")
	assert.Equal(t, http.StatusOK, do(t, env, call{method: http.MethodGet, path: "/api/v1/products/5"}).status)

	t.Run("percent-encoded segments reach the service decoded once", func(t *testing.T) {
		for path, want := range map[string]string{
			"/api/v1/products/caf%C3%A9":    "/products/caf%C3%A9",
			"/api/v1/products/a%20b":        "/products/a%20b",
			"/api/v1/products/100%25":       "/products/100%25",
			"/api/v1/products/a%3Fb":        "/products/a%3Fb",
			"/api/v1/products/%252e%252e/x": "/products/%252e%252e/x", // a literal "%2e%2e", not a step up
			"/api/v1/products/":             "/products",              // daprd drops a trailing slash: the same collection
		} {
			got := raw(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if !assert.Equal(t, http.StatusOK, got.status, "%s: %s", path, got.body) {
				continue
			}
			e := got.echo(t)
			assert.Equal(t, "product", e.App, path)
			assert.Equal(t, want, e.Path, path)
			assert.Empty(t, e.RawQuery, "%s: a segment never becomes a query", path)
		}
	})
}

// seenBy asks app's echo how many requests with id reached it.
func seenBy(t *testing.T, env *testenv.Env, app, token, id string) int {
	t.Helper()
	path := map[string]string{"auth": "/api/v1/auth/peek", "user": "/api/v1/users/peek",
		"product": "/api/v1/products/peek", "inventory": "/api/v1/inventory/peek"}[app]
	return do(t, env, call{method: http.MethodGet, path: path,
		header: map[string]string{"Authorization": "Bearer " + token, "X-Echo-Peek": id}}).echo(t).Seen
}

// Each sidecar serves only the Dapr APIs its app uses (dapr/config/<app>.yaml):
// asked with the app's own token, everything else is refused, over HTTP and
// gRPC alike.
func TestSidecarsServeOnlyTheirAppsAPIs(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	type probe struct{ method, path string }
	forbiddenEverywhere := []probe{
		{"GET", "/v1.0/metadata"},
		{"PUT", "/v1.0/metadata/x"},
		{"POST", "/v1.0/publish/revocations/revocations"},
		{"POST", "/v1.0/publish/events/x"},
		{"POST", "/v1.0/bindings/x"},
		{"GET", "/v1.0/secrets/x/y"},
		{"GET", "/v1.0-alpha1/configuration/x"},
		{"POST", "/v1.0/shutdown"},
	}
	forbidden := map[string][]probe{
		"gateway": {{"GET", "/v1.0/state/auth-store/keys"}, {"POST", "/v1.0/state/auth-store"}},
	}
	for _, app := range []string{"auth", "user", "product", "inventory"} {
		forbidden[app] = []probe{{"GET", "/v1.0/invoke/gateway/method/health"}, {"GET", "/v1.0/invoke/auth/method/ready"}}
	}
	forbidden["product"] = append(forbidden["product"], probe{"POST", "/v1.0/publish/events/stock"})
	forbidden["inventory"] = append(forbidden["inventory"], probe{"POST", "/v1.0/publish/events/products"})
	for _, app := range stack.Apps {
		for _, p := range append(forbiddenEverywhere, forbidden[app]...) {
			req, err := http.NewRequest(p.method, env.SidecarURL(app)+p.path, strings.NewReader("{}"))
			require.NoError(t, err)
			req.Header.Set("dapr-api-token", env.DaprAPIToken(app))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if (app == "product" || app == "inventory") && strings.HasPrefix(p.path, "/v1.0/publish/") {
				// Their relays publish over HTTP, product on topic products
				// only, inventory on stock only: any other topic (the other's
				// included) is refused by the component's scopes.
				assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound}, resp.StatusCode,
					"%s's sidecar publishes %s", app, p.path)
				continue
			}
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s's sidecar serves %s %s", app, p.method, p.path)
		}
		assertGRPCRefused(t, env, app, "/dapr.proto.runtime.v1.Dapr/Shutdown")
		assertGRPCRefused(t, env, app, "/dapr.proto.runtime.v1.Dapr/GetMetadata")
		assertGRPCRefused(t, env, app, "/dapr.proto.runtime.v1.Dapr/PublishEvent")
		resp, err := http.Get(env.SidecarURL(app) + "/v1.0/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode, "%s's sidecar is alive and healthy", app)
	}

	// What each app does use still works.
	resp, err := env.Invoke("gateway", "product", "ready")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the gateway invokes services")
	req, err := http.NewRequest(http.MethodGet, env.SidecarURL("user")+"/v1.0/state/user-store/probe", nil)
	require.NoError(t, err)
	req.Header.Set("dapr-api-token", env.DaprAPIToken("user"))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "a service reads its own store")
}

func assertGRPCRefused(t *testing.T, env *testenv.Env, app, method string) {
	t.Helper()
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", env.Ports(app).GRPC), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "dapr-api-token", env.DaprAPIToken(app))
	err = conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
	assert.Equal(t, codes.Unimplemented, status.Code(err), "%s's sidecar over gRPC: %s: %v", app, method, err)
}

// The edge: framing the upstream client would refuse is the client's 400,
// never a 502 blaming a healthy service; compressed bodies are refused;
// requests the router cannot place get the envelope and security headers;
// one correlation id per answer; no CORS unless configured; the anonymous
// health view names no internals; slow clients are cut off.
func TestGatewayEdge(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer, testenv.WithEnv("gateway", "READ_HEADER_TIMEOUT=1s"))
	token := signer.Access("user-1", "session-1")
	addr := gatewayAddr(env)
	auth := "Authorization: Bearer " + token + "\r\n"

	t.Run("malformed framing is a 400 at the edge", func(t *testing.T) {
		for name, req := range map[string]string{
			"space before colon": "GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX-Foo : bar\r\n\r\n",
			"obs-fold":           "GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX-Foo: bar\r\n baz\r\n\r\n",
			"non-hex chunk size": "POST /api/v1/products HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
			"overflowing chunk":  "POST /api/v1/products HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
		} {
			got := raw(t, addr, req)
			assert.Equal(t, http.StatusBadRequest, got.status, "%s: %s", name, got.body)
			assert.Equal(t, "BAD_REQUEST", got.errorCode(t), name)
		}
	})

	t.Run("unplaceable request-targets get the envelope and security headers", func(t *testing.T) {
		for _, req := range []string{
			"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
			"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		} {
			got := raw(t, addr, req)
			assert.GreaterOrEqual(t, got.status, 400, req)
			assert.Less(t, got.status, 500, req)
			assert.NotEmpty(t, got.errorCode(t), req)
			assert.Equal(t, "nosniff", got.header.Get("X-Content-Type-Options"), req)
			assert.Contains(t, got.header.Get("Content-Security-Policy"), "default-src 'none'", req)
		}
	})

	t.Run("compressed request bodies are refused before anyone inflates them", func(t *testing.T) {
		var bomb bytes.Buffer
		zw := gzip.NewWriter(&bomb)
		_, _ = zw.Write(bytes.Repeat([]byte(`{"a":"`), 2<<20))
		require.NoError(t, zw.Close())
		for _, enc := range []string{"gzip", "deflate", "br", "GZIP"} {
			for _, path := range []string{"/api/v1/auth/login", "/api/v1/products"} {
				a := do(t, env, call{method: http.MethodPost, path: path, body: bomb.String(), header: map[string]string{
					"Authorization": "Bearer " + token, "Content-Type": "application/json", "Content-Encoding": enc, "X-Echo-Id": "bomb"}})
				assert.Equal(t, http.StatusUnsupportedMediaType, a.status, "%s %s: %s", enc, path, a.body)
				assert.Equal(t, "UNSUPPORTED_MEDIA_TYPE", a.errorCode(t))
			}
		}
		assert.Zero(t, seenBy(t, env, "product", token, "bomb"))
	})

	t.Run("a proxied answer carries one correlation id", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products/5", header: map[string]string{"X-Correlation-Id": "corr-once"}})
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, []string{"corr-once"}, a.header.Values("X-Correlation-Id"))
		assert.Len(t, a.header.Values("X-Request-Id"), 0, "the service's copy is not passed on")
	})

	t.Run("no CORS_ORIGINS means no CORS headers at all", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodOptions} {
			a := do(t, env, call{method: method, path: "/api/v1/products", header: map[string]string{
				"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}})
			assert.Empty(t, a.header.Get("Access-Control-Allow-Origin"), method)
			assert.Empty(t, a.header.Get("Access-Control-Allow-Methods"), method)
		}
	})

	t.Run("anonymous health shows status and timing, never why", func(t *testing.T) {
		require.NoError(t, env.StopAppOnly("inventory"))
		t.Cleanup(func() {
			require.NoError(t, env.StartApp("inventory"))
			require.NoError(t, env.WaitAppReady(context.Background(), "inventory"))
		})
		var body string
		waitFor(t, "inventory reported unhealthy", func() bool {
			a := do(t, env, call{method: http.MethodGet, path: "/health/services"})
			body = string(a.body)
			assert.NotEmpty(t, a.header.Get("RateLimit-Limit"), "rate limited like any public path")
			return a.status == http.StatusServiceUnavailable
		})
		assert.Contains(t, body, `"name":"inventory","status":"unhealthy"`)
		assert.NotContains(t, body, "error")
		assert.NotContains(t, body, "127.0.0.1")

		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health/services", env.Ports("gateway").Admin))
		require.NoError(t, err)
		defer resp.Body.Close()
		detail, _ := io.ReadAll(resp.Body)
		assert.Contains(t, string(detail), `"error"`, "the admin address says why")
	})

	t.Run("clients that never finish their headers are cut off and do not starve others", func(t *testing.T) {
		const n = 200
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = io.WriteString(c, "GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			require.NoError(t, err)
			conns = append(conns, c)
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		start := time.Now()
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products/5"})
		assert.Equal(t, http.StatusOK, a.status, "a normal client is served")
		t.Logf("served beside %d stalled connections in %s", n, time.Since(start).Round(time.Millisecond))

		// Each stalled connection is closed by the gateway after
		// READ_HEADER_TIMEOUT (1 s here); poll to a generous deadline.
		closed := 0
		deadline := time.Now().Add(30 * time.Second) // one for all: a hang costs 30 s, not 30 s each
		for _, c := range conns {
			require.NoError(t, c.SetReadDeadline(deadline))
			if _, err := io.Copy(io.Discard, c); err == nil || !os.IsTimeout(err) {
				closed++
			}
		}
		assert.Equal(t, n, closed, "every stalled connection was cut off")
		t.Logf("all %d stalled connections cut off %s after they started", n, time.Since(start).Round(time.Millisecond))
	})
}

// jsonOf marshals v for a request body (maps and structs of strings never fail).
func jsonOf(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
