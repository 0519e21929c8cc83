package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// echo is what internal/testenv/echoapp answers.
type echo struct {
	App, Method, Path, RawQuery, Body string
	Headers                           map[string]string
}

// gatewayEnv runs the real gateway in front of echo apps standing in for
// every service; the one standing in for auth serves signer's JWKS.
func gatewayEnv(t *testing.T, signer *testjwt.Signer, opts ...testenv.Option) *testenv.Env {
	t.Helper()
	opts = append([]testenv.Option{
		testenv.WithEcho("auth", "TEST_JWKS="+string(testjwt.JWKS(signer))),
		testenv.WithEcho("user"),
		testenv.WithEcho("product"),
		testenv.WithEcho("inventory"),
	}, opts...)
	return testenv.Start(t, stack.Apps, opts...)
}

type call struct {
	method, path, body string
	header             map[string]string
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) echo(t *testing.T) echo {
	t.Helper()
	var e echo
	require.NoError(t, json.Unmarshal(a.body, &e), "%s", a.body)
	return e
}

func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	var env struct {
		Success bool
		Error   struct{ Code, Message, CorrelationID string }
	}
	require.NoError(t, json.Unmarshal(a.body, &env), "%s", a.body)
	assert.False(t, env.Success)
	assert.NotEmpty(t, env.Error.Message)
	assert.Equal(t, a.header.Get("X-Correlation-Id"), env.Error.CorrelationID, "the envelope carries the correlation id")
	return env.Error.Code
}

func do(t *testing.T, env *testenv.Env, c call) answer {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, env.URL("gateway")+c.path, body)
	require.NoError(t, err)
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func TestGatewayRouting(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	token := signer.Access("user-1", "session-1")

	t.Run("each prefix reaches its app at the service-native path", func(t *testing.T) {
		tests := []struct{ path, app, upstream string }{
			{"/api/v1/auth/me", "auth", "/auth/me"},
			{"/api/v1/users/me/addresses", "user", "/users/me/addresses"},
			{"/api/v1/products/5?page=0&size=2", "product", "/products/5"},
			{"/api/v1/categories/7", "product", "/categories/7"},
			{"/api/v1/inventory/sku-1", "inventory", "/inventory/sku-1"},
		}
		for _, tt := range tests {
			a := do(t, env, call{method: http.MethodGet, path: tt.path, header: bearer(token)})
			require.Equal(t, http.StatusOK, a.status, "%s: %s", tt.path, a.body)
			e := a.echo(t)
			assert.Equal(t, tt.app, e.App, tt.path)
			assert.Equal(t, tt.upstream, e.Path, tt.path)
		}
		e := do(t, env, call{method: http.MethodGet, path: "/api/v1/products/5?page=0&size=2", header: bearer(token)}).echo(t)
		assert.Equal(t, "page=0&size=2", e.RawQuery)
	})

	t.Run("method, body and content type arrive unchanged", func(t *testing.T) {
		for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"} {
			body := `{"name":"ünïcode","n":1}`
			a := do(t, env, call{method: http.MethodPut, path: "/api/v1/products/5", body: body,
				header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": ct}})
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			e := a.echo(t)
			assert.Equal(t, http.MethodPut, e.Method)
			assert.Equal(t, body, e.Body, ct)
			assert.Equal(t, ct, e.Headers["Content-Type"])
		}
	})

	t.Run("the service's status, headers and body come back", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodPost, path: "/api/v1/inventory/sku-1/reserve", body: `{}`,
			header: map[string]string{"Authorization": "Bearer " + token, "X-Echo-Status": "409"}})
		assert.Equal(t, http.StatusConflict, a.status)
		assert.Equal(t, "inventory", a.header.Get("X-Echo-App"))
		assert.Equal(t, "inventory", a.echo(t).App)
	})

	t.Run("verified identity reaches the service; forged identity headers do not", func(t *testing.T) {
		e := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: map[string]string{
			"Authorization": "Bearer " + token,
			"X-User-Id":     "admin", "X-User-Role": "ADMIN", "X-Session-Id": "forged",
			"dapr-api-token": "guess", "dapr-app-id": "auth",
		}}).echo(t)
		assert.Equal(t, "user-1", e.Headers["X-User-Id"])
		assert.Equal(t, "USER", e.Headers["X-User-Role"])
		assert.Equal(t, "user-1@example.com", e.Headers["X-User-Email"])
		assert.Equal(t, "session-1", e.Headers["X-Session-Id"])
		assert.Equal(t, "user", e.App)

		anon := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: map[string]string{
			"X-User-Id": "admin", "X-User-Role": "ADMIN",
		}}).echo(t)
		assert.Empty(t, anon.Headers["X-User-Id"], "no token, no identity, whatever the client says")
		assert.Empty(t, anon.Headers["X-User-Role"])
	})

	t.Run("correlation id is kept or made, echoed and forwarded", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: map[string]string{"X-Correlation-Id": "  abc-123  "}})
		assert.Equal(t, "abc-123", a.header.Get("X-Correlation-Id"))
		e := a.echo(t)
		assert.Equal(t, "abc-123", e.Headers["X-Correlation-Id"])
		assert.Equal(t, "abc-123", e.Headers["X-Request-Id"])

		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: map[string]string{"X-Correlation-Id": "bad id\twith tab"}})
		got := a.header.Get("X-Correlation-Id")
		assert.NotEmpty(t, got)
		assert.NotContains(t, got, "bad")
		assert.Equal(t, got, a.echo(t).Headers["X-Correlation-Id"])

		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me"})
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.NotEmpty(t, a.header.Get("X-Correlation-Id"), "error answers carry it too")
	})

	t.Run("one W3C trace runs from the client through to the service", func(t *testing.T) {
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		e := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: map[string]string{
			"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01",
		}}).echo(t)
		tp := e.Headers["Traceparent"]
		require.NotEmpty(t, tp, "the service receives a traceparent")
		assert.Contains(t, tp, traceID, "same trace id end to end")
		assert.NotContains(t, tp, "00f067aa0ba902b7", "each hop adds its own span")
	})

	t.Run("security headers on every answer", func(t *testing.T) {
		for _, path := range []string{"/api/v1/products", "/health", "/nope"} {
			a := do(t, env, call{method: http.MethodGet, path: path})
			assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"), path)
			assert.Contains(t, a.header.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
			assert.Equal(t, "no-referrer", a.header.Get("Referrer-Policy"), path)
			assert.Empty(t, a.header.Get("Strict-Transport-Security"), "HSTS only when TLS ends in front")
		}
	})

	t.Run("/info names the gateway and nothing internal", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/info"})
		assert.Equal(t, http.StatusOK, a.status)
		assert.NotContains(t, string(a.body), "127.0.0.1")
		assert.NotContains(t, string(a.body), "3500")
	})

	t.Run("a large streamed body passes; one over the limit is refused with 413", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), 900<<10)
		a := do(t, env, call{method: http.MethodPost, path: "/api/v1/products", body: string(big),
			header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "text/plain", "Idempotency-Key": "k1"}})
		require.Equal(t, http.StatusOK, a.status)
		assert.Len(t, a.echo(t).Body, len(big))

		tooBig := bytes.Repeat([]byte("x"), 2<<20)
		a = do(t, env, call{method: http.MethodPost, path: "/api/v1/products", body: string(tooBig),
			header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "text/plain"}})
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
		assert.Equal(t, "PAYLOAD_TOO_LARGE", a.errorCode(t))
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 100*time.Millisecond, what)
}
