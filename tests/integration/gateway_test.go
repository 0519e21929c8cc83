package integration

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// echo is what internal/testenv/echoapp answers.
type echo struct {
	App, Method, Path, RawQuery, Body string
	Seen                              int
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
	env := testenv.Start(t, stack.Apps, opts...)
	// The gateway serves before it has auth's keys; wait until it has them.
	probe := signer.Access("probe", "probe")
	waitFor(t, "the gateway to hold auth's keys", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/api/v1/users/probe", header: bearer(probe)}).status == http.StatusOK
	})
	return env
}

type call struct {
	method, path, body string
	header             map[string]string
	contract           string // check the answer against this program's contract
	gateway            string // the gateway replica to call (default "gateway")
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

// do makes one call through the gateway; from the test's own goroutine.
func do(t *testing.T, env *testenv.Env, c call) answer {
	t.Helper()
	a, err := send(t, env, c)
	require.NoError(t, err)
	return a
}

// send makes one call through the gateway and never stops the test, so
// goroutines may use it (a broken contract is reported with t.Errorf).
func send(t testing.TB, env *testenv.Env, c call) (answer, error) {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, env.URL(cmp.Or(c.gateway, "gateway"))+c.path, body)
	if err != nil {
		return answer{}, err
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	if c.contract != "" {
		contract := c.contract
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			// The gateway's own answer (the service gave none, or it was
			// shed), or a service's 503, which is the same envelope.
			contract = "gateway"
		}
		if spec := contractOf(t, contract); spec != nil {
			spec.Check(t, req, resp)
		}
	}
	raw, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}, err
}

// concurrently makes n calls at once (released together) and returns their
// answers in order. A transport error fails the test, from the test's own
// goroutine: the calls run in others.
func concurrently(t *testing.T, n int, call func(i int) (answer, error)) []answer {
	t.Helper()
	answers := make([]answer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	return answers
}

// statusCounts counts answers by status.
func statusCounts(answers []answer) map[int]int {
	counts := map[int]int{}
	for _, a := range answers {
		counts[a.status]++
	}
	return counts
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
		_, err := uuid.Parse(got)
		assert.NoError(t, err, "an unusable id is replaced by a fresh UUID, got %q", got)
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

	t.Run("Prometheus metrics on the admin port, by route and status", func(t *testing.T) {
		do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me"}) // a 401
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", env.Ports("gateway").Admin))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		body := string(raw)
		assert.Contains(t, body, `gateway_requests_total{method="GET",route="/api/v1/products",status="200"}`)
		assert.Contains(t, body, `gateway_request_duration_seconds_bucket{route="/api/v1/products",status="200"`)
		assert.Contains(t, body, `gateway_auth_rejected_total{reason="missing token"}`)
		assert.Contains(t, body, "gateway_jwks_keys 1")
		resp, err = http.Get(env.URL("gateway") + "/metrics")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "not on the public port")
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

		// Chunked: no Content-Length to refuse up front.
		req, err := http.NewRequest(http.MethodPost, env.URL("gateway")+"/api/v1/products", io.MultiReader(bytes.NewReader(tooBig)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.Equal(t, 0, seenBy(t, env, "product", token, "never-counted"), "sanity: the echo app counts only ids it saw")
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 100*time.Millisecond, what)
}

func TestGatewayDrainsOnShutdown(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	token := signer.Access("user-1", "session-1")

	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, env.URL("gateway")+"/api/v1/products/slow", nil)
		req.Header.Set("X-Echo-Sleep", "2s")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, body: raw}
	}()
	time.Sleep(500 * time.Millisecond) // the request is in flight
	require.NoError(t, env.StopAppOnly("gateway"), "SIGTERM, and the gateway exits on its own")
	a := <-done
	assert.Equal(t, http.StatusOK, a.status, "the in-flight request finished: %s", a.body)
	_, err := http.Get(env.URL("gateway") + "/health")
	assert.Error(t, err, "no new connections after shutdown")
}

func TestGatewayIdentity(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	valid := testjwt.Claims("user-1", "session-1")
	with := func(k string, v any) string {
		c := testjwt.Claims("user-1", "session-1")
		c[k] = v
		return signer.Sign(c)
	}
	stranger := testjwt.NewSigner("test-key")

	t.Run("attacks and bad tokens get 401 in the envelope", func(t *testing.T) {
		tests := map[string]string{
			"alg none":                         signer.AlgNone(valid),
			"HS256 signed with the public key": signer.HS256WithPublicKey(valid),
			"tampered payload":                 testjwt.Tampered(signer.Sign(valid)),
			"another key, same kid":            stranger.Sign(valid),
			"unknown kid":                      testjwt.NewSigner("nobody").Sign(valid),
			"expired":                          with("exp", time.Now().Add(-2*time.Minute).Unix()),
			"wrong audience":                   with("aud", "other-api"),
			"wrong issuer":                     with("iss", "https://evil.example"),
			"refresh token as bearer":          with("typ", "refresh"),
			"garbage":                          "abc.def.ghi",
		}
		for name, token := range tests {
			a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: bearer(token)})
			assert.Equal(t, http.StatusUnauthorized, a.status, name)
			assert.Equal(t, "UNAUTHORIZED", a.errorCode(t), name)
			assert.Contains(t, a.header.Get("WWW-Authenticate"), "Bearer", name)
		}
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: map[string]string{"Authorization": "Basic dXNlcjpwdw=="}})
		assert.Equal(t, http.StatusUnauthorized, a.status, "another scheme")
	})

	t.Run("lower-case bearer scheme is accepted (RFC 6750)", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: map[string]string{"Authorization": "bearer " + signer.Sign(valid)}})
		assert.Equal(t, http.StatusOK, a.status)
	})

	t.Run("public without a token, protected otherwise", func(t *testing.T) {
		tests := []struct {
			method, path string
			want         int
		}{
			{http.MethodGet, "/health", 200},
			{http.MethodGet, "/health/services", 200},
			{http.MethodGet, "/.well-known/jwks.json", 200},
			{http.MethodPost, "/api/v1/auth/register", 200},
			{http.MethodPost, "/api/v1/auth/login", 200},
			{http.MethodPost, "/api/v1/auth/refresh-token", 200},
			{http.MethodPost, "/api/v1/auth/logout", 200}, // the refresh token in the body proves the session
			{http.MethodGet, "/api/v1/products", 200},
			{http.MethodGet, "/api/v1/products/5/variants", 200},
			{http.MethodGet, "/api/v1/categories", 200},
			{http.MethodPost, "/api/v1/auth/register-anything", 401},
			{http.MethodGet, "/api/v1/auth/me", 401},
			{http.MethodPost, "/api/v1/products", 401},
			{http.MethodDelete, "/api/v1/categories/3", 401},
			{http.MethodGet, "/api/v1/users/me", 401},
			{http.MethodGet, "/api/v1/inventory/sku-1", 200}, // availability is public
			{http.MethodGet, "/api/v1/inventory/reservations/x", 401},
			{http.MethodPost, "/api/v1/inventory/reserve", 401},
			{http.MethodGet, "/api/v1/orders", 401},
		}
		for _, tt := range tests {
			a := do(t, env, call{method: tt.method, path: tt.path, body: "{}"})
			assert.Equal(t, tt.want, a.status, "%s %s: %s", tt.method, tt.path, a.body)
		}
	})

	t.Run("the JWKS passes through from auth", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/.well-known/jwks.json"})
		require.Equal(t, http.StatusOK, a.status)
		assert.Contains(t, string(a.body), `"kid":"test-key"`)
	})

	t.Run("unknown routes: 401 first under /api, 404 with a token or outside it", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/orders"})
		assert.Equal(t, http.StatusUnauthorized, a.status)
		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/orders", header: bearer(signer.Sign(valid))})
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.Equal(t, "NOT_FOUND", a.errorCode(t))
		a = do(t, env, call{method: http.MethodGet, path: "/nowhere"})
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.Equal(t, "NOT_FOUND", a.errorCode(t))
		a = do(t, env, call{method: http.MethodPost, path: "/health"})
		assert.Equal(t, http.StatusMethodNotAllowed, a.status)
		assert.Equal(t, "METHOD_NOT_ALLOWED", a.errorCode(t))
	})

	t.Run("the gateway keeps verifying with cached keys while auth is down", func(t *testing.T) {
		require.NoError(t, env.StopApp("auth"))
		t.Cleanup(func() { _ = env.StartApp("auth") })
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: bearer(signer.Sign(valid))})
		assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: bearer(testjwt.NewSigner("rotated").Sign(valid))})
		assert.Equal(t, http.StatusUnauthorized, a.status)
	})
}

func TestGatewayRateLimits(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	// The test stands behind a trusted proxy (itself), so each subtest can
	// be a client of its own through X-Forwarded-For.
	env := gatewayEnv(t, signer, testenv.WithEnv("gateway", "TRUSTED_PROXIES=127.0.0.1",
		"RATE_LIMIT_RPS=0.1", "RATE_LIMIT_BURST=5", "AUTH_RATE_LIMIT_RPS=0.1", "AUTH_RATE_LIMIT_BURST=2"))
	from := func(ip string, h map[string]string) map[string]string {
		if h == nil {
			h = map[string]string{}
		}
		h["X-Forwarded-For"] = ip
		return h
	}

	t.Run("anonymous requests are limited per IP, with headers on every answer", func(t *testing.T) {
		for i := range 5 {
			a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: from("198.51.100.1", nil)})
			require.Equal(t, http.StatusOK, a.status)
			assert.Equal(t, "5", a.header.Get("RateLimit-Limit"))
			assert.Equal(t, strconv.Itoa(4-i), a.header.Get("RateLimit-Remaining"))
			assert.NotEmpty(t, a.header.Get("RateLimit-Reset"))
		}
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: from("198.51.100.1", nil)})
		assert.Equal(t, http.StatusTooManyRequests, a.status)
		assert.Equal(t, "RATE_LIMITED", a.errorCode(t))
		assert.Equal(t, "0", a.header.Get("RateLimit-Remaining"))
		retry, err := strconv.Atoi(a.header.Get("Retry-After"))
		require.NoError(t, err)
		assert.InDelta(t, 10, retry, 1)

		other := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: from("198.51.100.2", nil)})
		assert.Equal(t, http.StatusOK, other.status, "another client has its own budget")
		spoofed := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: from("203.0.113.9, 198.51.100.1", nil)})
		assert.Equal(t, http.StatusTooManyRequests, spoofed.status, "only the right-most untrusted hop counts")
	})

	t.Run("an authenticated user has a budget of their own", func(t *testing.T) {
		token := signer.Access("user-7", "s-7")
		for range 5 {
			a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: from("198.51.100.1", bearer(token))})
			require.Equal(t, http.StatusOK, a.status, "the IP's exhausted budget does not apply")
		}
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: from("198.51.100.3", bearer(token))})
		assert.Equal(t, http.StatusTooManyRequests, a.status, "the user's budget follows them across IPs")
		other := do(t, env, call{method: http.MethodGet, path: "/api/v1/users/me", header: from("198.51.100.1", bearer(signer.Access("user-8", "s-8")))})
		assert.Equal(t, http.StatusOK, other.status)
	})

	t.Run("login, register and refresh share a stricter budget", func(t *testing.T) {
		for _, path := range []string{"/api/v1/auth/login", "/api/v1/auth/register"} {
			a := do(t, env, call{method: http.MethodPost, path: path, body: "{}", header: from("198.51.100.4", nil)})
			require.Equal(t, http.StatusOK, a.status, path)
			assert.Equal(t, "2", a.header.Get("RateLimit-Limit"))
		}
		a := do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/refresh-token", body: "{}", header: from("198.51.100.4", nil)})
		assert.Equal(t, http.StatusTooManyRequests, a.status)
	})

	t.Run("health is never limited", func(t *testing.T) {
		for range 10 {
			assert.Equal(t, http.StatusOK, do(t, env, call{method: http.MethodGet, path: "/health", header: from("198.51.100.1", nil)}).status)
		}
	})
}

func TestGatewayCORS(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer, testenv.WithEnv("gateway", "CORS_ORIGINS=https://shop.example,https://admin.example", "CORS_CREDENTIALS=true"))

	t.Run("preflight from an allowed origin", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodOptions, path: "/api/v1/products", header: map[string]string{
			"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type",
		}})
		assert.Equal(t, http.StatusNoContent, a.status)
		assert.Equal(t, "https://shop.example", a.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", a.header.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, a.header.Get("Access-Control-Allow-Methods"), "POST")
		assert.Contains(t, strings.ToLower(a.header.Get("Access-Control-Allow-Headers")), "authorization")
		assert.NotEmpty(t, a.header.Get("Access-Control-Max-Age"))
	})

	t.Run("a simple request exposes the correlation and rate-limit headers", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products", header: map[string]string{"Origin": "https://admin.example"}})
		assert.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, "https://admin.example", a.header.Get("Access-Control-Allow-Origin"))
		exposed := strings.ToLower(a.header.Get("Access-Control-Expose-Headers"))
		for _, h := range []string{"x-correlation-id", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} {
			assert.Contains(t, exposed, h)
		}
	})

	t.Run("a disallowed origin gets no CORS headers, and never a 500", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodOptions} {
			a := do(t, env, call{method: method, path: "/api/v1/products", header: map[string]string{
				"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
			}})
			assert.Less(t, a.status, 500, method)
			assert.Empty(t, a.header.Get("Access-Control-Allow-Origin"), method)
			assert.Empty(t, a.header.Get("Access-Control-Allow-Credentials"), method)
		}
	})
}

func TestGatewayResilience(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	// The product stand-in lets a request run past Dapr's 5 s policy
	// timeout (a service's own REQUEST_TIMEOUT would answer first).
	env := gatewayEnv(t, signer, testenv.WithEnv("product", "REQUEST_TIMEOUT=30s"))
	token := signer.Access("user-1", "session-1")
	hdr := func(kv ...string) map[string]string {
		h := bearer(token)
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}

	seen := func(id string) int { return seenBy(t, env, "product", token, id) }
	t.Run("retries: GET on 502-504 only; never a write, keyed or not", func(t *testing.T) {
		tests := []struct {
			name, method, status, idemKey string
			wantSeen                      int
		}{
			{"GET 503 is retried twice", http.MethodGet, "503", "", 3},
			{"GET 502 is retried", http.MethodGet, "502", "", 3},
			{"GET 500 is not retried", http.MethodGet, "500", "", 1},
			{"GET 404 is not retried", http.MethodGet, "404", "", 1},
			{"POST 503 without Idempotency-Key reaches the service once", http.MethodPost, "503", "", 1},
			{"DELETE 503 without Idempotency-Key reaches the service once", http.MethodDelete, "503", "", 1},
			// Its client may send it again under its key; the gateway's
			// sidecar does not, so it is never behind a circuit breaker.
			{"POST 503 with Idempotency-Key reaches the service once", http.MethodPost, "503", "key-1", 1},
		}
		for i, tt := range tests {
			id := "retry-" + strconv.Itoa(i)
			h := hdr("X-Echo-Status", tt.status, "X-Echo-Id", id)
			if tt.idemKey != "" {
				h["Idempotency-Key"] = tt.idemKey
			}
			// Each case on its own path: Dapr keeps a circuit breaker per
			// target and method path.
			a := do(t, env, call{method: tt.method, path: "/api/v1/products/r" + strconv.Itoa(i), body: "{}", header: h})
			assert.Equal(t, tt.status, strconv.Itoa(a.status), "%s: the service's own answer comes back", tt.name)
			assert.Equal(t, tt.wantSeen, seen(id), tt.name)
		}
	})

	t.Run("a slow service yields 504 from the policy timeout", func(t *testing.T) {
		start := time.Now()
		a := do(t, env, call{method: http.MethodPost, path: "/api/v1/products", body: "{}", header: hdr("X-Echo-Sleep", "8s")})
		// A 504 (not the service's 200 after 8 s) is Dapr's 5 s timeout.
		assert.Equal(t, http.StatusGatewayTimeout, a.status, "%s", a.body)
		assert.Equal(t, "GATEWAY_TIMEOUT", a.errorCode(t))
		t.Logf("504 after %s (policy timeout 5 s, service would take 8 s)", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a dead service yields 502 fast once the breaker is open, and recovers", func(t *testing.T) {
		require.NoError(t, env.StopApp("inventory"))
		get := func() (answer, time.Duration) {
			start := time.Now()
			a := do(t, env, call{method: http.MethodGet, path: "/api/v1/inventory/sku-1", header: hdr()})
			return a, time.Since(start)
		}
		var a answer
		var took time.Duration
		waitFor(t, "a 502", func() bool {
			a, _ = get()
			return a.status == http.StatusBadGateway
		})
		assert.Equal(t, "SERVICE_UNAVAILABLE", a.errorCode(t))
		assert.Contains(t, string(a.body), "inventory")
		var slowest time.Duration
		for range 5 {
			a, took = get()
			assert.Equal(t, http.StatusBadGateway, a.status)
			slowest = max(slowest, took)
		}
		t.Logf("a dead service's 502, slowest of 5: %s", slowest.Round(time.Millisecond))

		require.NoError(t, env.StartApp("inventory"))
		waitFor(t, "traffic back", func() bool {
			a, _ := get()
			return a.status == http.StatusOK
		})
	})
}

func TestGatewayRevocation(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	// Revocations are published the only way there is: a state transaction
	// through auth's outbox component, from auth's sidecar (which serves
	// no publish API, and only auth may publish to the topic).
	outbox := statestore.New(sidecar.New(env.Ports("auth").HTTP, env.DaprAPIToken("auth")), "auth-outbox")
	publish := func(r map[string]any) {
		t.Helper()
		require.NoError(t, outbox.Save(t.Context(), statestore.Op{Key: "revocation:" + uuid.NewString(), Value: r, Create: true, TTL: 60}))
	}
	// A second gateway replica: revocations must reach every replica.
	replica := env.AddReplica("gateway", "2")
	statusAt := func(gw, token string) int {
		req, err := http.NewRequest(http.MethodGet, env.URL(gw)+"/api/v1/users/me", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	status := func(token string) int { return statusAt("gateway", token) }
	revokedEverywhere := func(token string) bool {
		return statusAt("gateway", token) == http.StatusUnauthorized && statusAt(replica, token) == http.StatusUnauthorized
	}
	expires := time.Now().Add(20 * time.Minute).UTC()
	ended := signer.Access("user-1", "session-ended-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	kept := signer.Access("user-1", "session-kept")
	waitFor(t, "the replica holds auth's keys", func() bool { return statusAt(replica, ended) == http.StatusOK })
	require.Equal(t, http.StatusOK, status(ended))

	t.Run("an ended session's token stops working on every replica", func(t *testing.T) {
		sid := jwtClaim(t, ended, "sid")
		start := time.Now()
		publish(map[string]any{"sessionIds": []string{sid}, "expiresAt": expires})
		require.Eventually(t, func() bool { return revokedEverywhere(ended) }, 30*time.Second, 20*time.Millisecond)
		t.Logf("revocation in force on both replicas %s after publishing (target 2 s: docs/benchmarks.md)", time.Since(start).Round(time.Millisecond))
		assert.Equal(t, http.StatusOK, status(kept), "other sessions carry on")
		assert.Equal(t, http.StatusOK, statusAt(replica, kept))
	})

	userToken := signer.Access("user-2", "s-2")
	t.Run("all of a user's tokens issued before a cutoff stop working", func(t *testing.T) {
		require.Equal(t, http.StatusOK, status(userToken))
		publish(map[string]any{"userId": "user-2", "notBefore": time.Now().Add(time.Second).UTC(), "expiresAt": expires})
		require.Eventually(t, func() bool { return revokedEverywhere(userToken) }, 30*time.Second, 20*time.Millisecond)
	})

	t.Run("a restarted gateway still knows what is in force", func(t *testing.T) {
		require.NoError(t, env.StopApp("gateway"))
		require.NoError(t, env.StartApp("gateway"))
		require.NoError(t, env.WaitAppReady(t.Context(), "gateway"))
		// Once it verifies tokens again (it has auth's keys)...
		waitFor(t, "keys loaded", func() bool { return status(kept) == http.StatusOK })
		// ...the replayed revocations are in force.
		require.Eventually(t, func() bool {
			return status(ended) == http.StatusUnauthorized && status(userToken) == http.StatusUnauthorized
		}, 5*time.Second, 100*time.Millisecond)
		assert.Equal(t, http.StatusOK, status(kept))
	})
}

// jwtClaim reads one claim from a token without verifying it.
func jwtClaim(t *testing.T, token, claim string) string { return jwtPart(t, token, 1, claim) }

// jwtHeader reads one header field of a token.
func jwtHeader(t *testing.T, token, field string) string { return jwtPart(t, token, 0, field) }

func jwtPart(t *testing.T, token string, part int, name string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[part])
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	v, _ := fields[name].(string)
	return v
}

// TestGatewayShedsPastItsInFlightBound: past the open calls it allows an
// app, the gateway answers 503 SERVICE_BUSY with Retry-After at once,
// without queueing in the sidecars; the calls it took complete, other apps
// are not affected, and the slots come back.
func TestGatewayShedsPastItsInFlightBound(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer, testenv.WithEnv("gateway", "UPSTREAM_MAX_IN_FLIGHT_PER_APP=2"))
	const n = 10
	start := time.Now()
	answers := concurrently(t, n, func(i int) (answer, error) {
		return send(t, env, call{method: http.MethodGet, path: "/api/v1/products/slow-" + strconv.Itoa(i),
			header: map[string]string{"X-Echo-Sleep": "2s"}})
	})
	counts := statusCounts(answers)
	t.Logf("%d slow calls at once, 2 slots: %v in %s", n, counts, time.Since(start).Round(time.Millisecond))
	assert.Equal(t, map[int]int{http.StatusOK: 2, http.StatusServiceUnavailable: n - 2}, counts)
	for _, a := range answers {
		if a.status == http.StatusServiceUnavailable {
			assert.Equal(t, "SERVICE_BUSY", a.errorCode(t))
			assert.Equal(t, "1", a.header.Get("Retry-After"))
		}
	}

	t.Run("the shed ones are answered at once, and other apps keep their slots", func(t *testing.T) {
		slow := make(chan answer, 2)
		for i := range 2 {
			go func() {
				a, _ := send(t, env, call{method: http.MethodGet, path: "/api/v1/products/hold-" + strconv.Itoa(i),
					header: map[string]string{"X-Echo-Sleep": "2s"}})
				slow <- a
			}()
		}
		time.Sleep(500 * time.Millisecond) // both slots taken
		begin := time.Now()
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products/one-more"})
		assert.Equal(t, http.StatusServiceUnavailable, a.status)
		assert.Less(t, time.Since(begin), time.Second, "shed without waiting for a slot")
		probe := signer.Access("probe", "probe")
		assert.Equal(t, http.StatusOK, do(t, env, call{method: http.MethodGet, path: "/api/v1/users/probe", header: bearer(probe)}).status,
			"another app is not held up")
		for range 2 {
			assert.Equal(t, http.StatusOK, (<-slow).status)
		}
		assert.Equal(t, http.StatusOK, do(t, env, call{method: http.MethodGet, path: "/api/v1/products/after"}).status, "the slots came back")
	})
}

// By default a service's bound follows the latency of its calls (issue 14
// item 3): it starts at the configured bound, so a burst within it goes
// through before anything was measured, and once calls queue (here they
// take far longer than they did one at a time) it falls within a few
// rounds, and the gateway refuses past it at once.
func TestGatewayBoundFallsWhenCallsQueue(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	// The per-address limit is lifted: 190 calls from one address in a
	// few seconds would be its business otherwise.
	env := gatewayEnv(t, signer, testenv.WithEnv("gateway", "UPSTREAM_MAX_IN_FLIGHT_PER_APP=40", "RATE_LIMIT_RPS=100000", "RATE_LIMIT_BURST=100000"))
	for i := range 30 { // the baseline: what a call takes without a queue
		require.Equal(t, http.StatusOK, do(t, env, call{method: http.MethodGet, path: "/api/v1/products/alone-" + strconv.Itoa(i)}).status)
	}
	round := func(r int) map[int]int {
		answers := concurrently(t, 40, func(i int) (answer, error) {
			return send(t, env, call{method: http.MethodGet, path: fmt.Sprintf("/api/v1/products/queued-%d-%d", r, i),
				header: map[string]string{"X-Echo-Sleep": "300ms"}})
		})
		for _, a := range answers {
			if a.status == http.StatusServiceUnavailable {
				assert.Equal(t, "SERVICE_BUSY", a.errorCode(t))
			}
		}
		return statusCounts(answers)
	}
	assert.Equal(t, map[int]int{http.StatusOK: 40}, round(0), "a burst within the configured bound goes through")
	var last map[int]int
	for r := 1; r <= 3; r++ {
		last = round(r)
		t.Logf("round %d: %v", r, last)
	}
	// Each round's slow calls halve the bound and add its square root (40,
	// 26, 18, 13): under 16, the floor it had before, towards its floor of 4.
	assert.Less(t, last[http.StatusOK], 16, "the bound fell towards its floor of 4")
	assert.Equal(t, 40, last[http.StatusOK]+last[http.StatusServiceUnavailable], "the rest were refused, nothing failed")
}

// A client that gives up cannot open Dapr's circuit breaker for anyone.
// Dapr 1.18 counts a call its caller cancelled as a breaker failure: ten in
// a row on one path, straight at the gateway's sidecar, open that path for
// 5 s (the control below). Through the gateway the same burst leaves the
// breaker closed: the gateway's call to its sidecar is bound by its own
// timeout, not by the client's connection (fasthttp does not cancel a
// request whose client went away), so each call ends as the service
// answers it. Calls the gateway sheds never reach the sidecar at all.
func TestCancelledClientsCannotOpenTheBreaker(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	const burst = 15
	cancelled := func(url string, header map[string]string) {
		t.Helper()
		client := &http.Client{Timeout: 200 * time.Millisecond}
		var wg sync.WaitGroup
		for range burst {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodGet, url, nil)
				if err != nil {
					return
				}
				req.Header.Set("X-Echo-Sleep", "1s")
				for k, v := range header {
					req.Header.Set(k, v)
				}
				if resp, err := client.Do(req); err == nil { // it should time out
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		time.Sleep(1500 * time.Millisecond) // every call behind the burst has ended
	}

	// Control: the burst at the gateway's sidecar opens the breaker there.
	cancelled(env.SidecarURL("gateway")+"/v1.0/invoke/product/method/products/control",
		map[string]string{"dapr-api-token": env.DaprAPIToken("gateway")})
	a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products/control"})
	assert.NotEqual(t, http.StatusOK, a.status, "the control burst opened the breaker on its path: %s", a.body)

	// Through the gateway: every later call on the path succeeds.
	cancelled(env.URL("gateway")+"/api/v1/products/cancelled", nil)
	for i := range 5 {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/products/cancelled"})
		assert.Equal(t, http.StatusOK, a.status, "call %d after the burst: %s", i, a.body)
	}
}
