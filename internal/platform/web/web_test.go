package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSanitizeCorrelationID(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"kept", "abc-123_x.y:z", "abc-123_x.y:z"},
		{"trimmed", "  abc  ", "abc"},
		{"empty", "", ""},
		{"too long", strings.Repeat("a", 129), ""},
		{"longest allowed", strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{"header injection", "abc\r\nX-Evil: 1", ""},
		{"spaces inside", "a b", ""},
		{"non-ascii", "ключ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, SanitizeCorrelationID(tt.in))
		})
	}
}

func newTestApp() *fiber.App {
	app := NewApp(AppOptions{Name: "test", Log: slog.New(slog.DiscardHandler), BodyLimit: 16})
	app.Use(AppToken("secret", "/health"))
	app.Get("/health", func(c fiber.Ctx) error { return c.SendString("ok") })
	app.Post("/echo", func(c fiber.Ctx) error { return c.Send(c.Body()) })
	app.Get("/panic", func(c fiber.Ctx) error { panic("boom: internal detail") })
	app.Get("/conflict", func(c fiber.Ctx) error {
		return NewError(http.StatusConflict, "EMAIL_TAKEN", "taken").WithDetails(map[string]string{"email": "taken"})
	})
	return app
}

func TestErrorsUseTheEnvelope(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		token                    string
		wantStatus               int
		wantCode                 string
	}{
		{"no app token", http.MethodGet, "/conflict", "", "", 401, CodeUnauthorized},
		{"wrong app token", http.MethodGet, "/conflict", "", "nope", 401, CodeUnauthorized},
		{"unknown route", http.MethodGet, "/nope", "", "secret", 404, CodeNotFound},
		{"wrong method", http.MethodDelete, "/echo", "", "secret", 405, CodeMethodNotAllow},
		{"panic", http.MethodGet, "/panic", "", "secret", 500, CodeInternal},
		{"handler error with details", http.MethodGet, "/conflict", "", "secret", 409, "EMAIL_TAKEN"},
	}
	app := newTestApp()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set(HeaderDaprAPIToken, tt.token)
			}
			req.Header.Set(HeaderCorrelationID, "corr-1")
			resp, err := app.Test(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assertEnvelope(t, resp, tt.wantStatus, tt.wantCode)
		})
	}
}

// The body limit is enforced while fasthttp reads the request, before
// routing, so it is tested on a real listener.
func TestBodyTooLargeUsesTheEnvelope(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	app := newTestApp()
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/echo", strings.NewReader(strings.Repeat("x", 17)))
	require.NoError(t, err)
	req.Header.Set(HeaderDaprAPIToken, "secret")
	req.Header.Set(HeaderCorrelationID, "corr-1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assertEnvelope(t, resp, http.StatusRequestEntityTooLarge, CodeTooLarge)
}

func assertEnvelope(t *testing.T, resp *http.Response, wantStatus int, wantCode string) {
	t.Helper()
	raw, _ := io.ReadAll(resp.Body)
	assert.Equal(t, wantStatus, resp.StatusCode, "%s", raw)
	assert.Equal(t, "corr-1", resp.Header.Get(HeaderCorrelationID))
	var env Envelope
	require.NoError(t, json.Unmarshal(raw, &env), "%s", raw)
	assert.False(t, env.Success)
	assert.Equal(t, wantCode, env.Error.Code)
	assert.Equal(t, "corr-1", env.Error.CorrelationID)
	assert.NotEmpty(t, env.Error.Message)
	assert.NotContains(t, string(raw), "internal detail", "a 500 must not leak internals")
}

func TestAppTokenExemptsLiveness(t *testing.T) {
	resp, err := newTestApp().Test(httptest.NewRequest(http.MethodGet, "/health", nil))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestCorrelationIDIsGeneratedWhenMissingOrUnsafe(t *testing.T) {
	app := newTestApp()
	for _, sent := range []string{"", "bad id\twith tab"} {
		req := httptest.NewRequest(http.MethodGet, "/health", nil)
		if sent != "" {
			req.Header.Set(HeaderCorrelationID, sent)
		}
		resp, err := app.Test(req)
		require.NoError(t, err)
		got := resp.Header.Get(HeaderCorrelationID)
		assert.NotEmpty(t, got)
		assert.NotEqual(t, sent, got)
		assert.Equal(t, got, SanitizeCorrelationID(got), "a generated id must itself be safe")
	}
}

// A value a handler keeps (a cache key, say) must not change once the
// handler has returned. fasthttp reuses its buffers, and without
// Immutable Fiber's strings point into them: the product cache once kept a
// key whose bytes the next request overwrote, so a forget missed it and a
// deleted product was still served.
func TestValuesOutliveTheirRequest(t *testing.T) {
	app := NewApp(AppOptions{Name: "test", Log: slog.New(slog.DiscardHandler)})
	var kept []string
	app.All("/things/:id", func(c fiber.Ctx) error {
		kept = append(kept, c.Params("id"), c.Query("q"), c.Get("X-Thing"))
		return c.SendStatus(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	client := &http.Client{} // one keep-alive connection: the server reuses its buffers
	for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPost} {
		req, err := http.NewRequest(m, "http://"+ln.Addr().String()+"/things/"+strings.ToLower(m)+"-id?q="+m, nil)
		require.NoError(t, err)
		req.Header.Set("X-Thing", m+"-header")
		res, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		require.NoError(t, res.Body.Close())
	}
	assert.Equal(t, []string{"get-id", "GET", "GET-header", "delete-id", "DELETE", "DELETE-header", "post-id", "POST", "POST-header"}, kept)
}
