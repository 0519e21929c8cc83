package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// An answer that broke off must not pass for a whole one, however short.
func TestReadUpToTellsABrokenOffAnswerFromAShortOne(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("abc"))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write([]byte("abc"))
	}))
	defer srv.Close()

	read := func(path string) (string, error) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b := make([]byte, 64)
		n, err := readUpTo(resp.Body, b)
		return string(b[:n]), err
	}
	body, err := read("/whole")
	assert.Equal(t, "abc", body)
	assert.ErrorIs(t, err, io.EOF)

	body, err = read("/broken")
	assert.Equal(t, "abc", body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// Only the service's own answer is passed on: one that lacks its echo of
// the correlation id was made up on the way (a bodiless 200 was seen while
// the service's sidecar was killed mid-call) and is a 502, never a success.
func TestForwardPassesOnlyTheServicesOwnAnswer(t *testing.T) {
	sidecarSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/vouched") {
			w.Header().Set(web.HeaderCorrelationID, r.Header.Get(web.HeaderCorrelationID))
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"success":true}`))
			return
		}
		w.WriteHeader(http.StatusOK) // no echo, no body
	}))
	defer sidecarSrv.Close()
	port, err := strconv.Atoi(sidecarSrv.URL[strings.LastIndex(sidecarSrv.URL, ":")+1:])
	require.NoError(t, err)

	f := &Forwarder{Sidecar: sidecar.New(port, "")}
	app := web.NewApp(web.AppOptions{Name: "gateway-test", BodyLimit: 1 << 20, Log: slog.New(slog.DiscardHandler)})
	app.Post("/*", func(c fiber.Ctx) error {
		return f.Forward(c, Request{App: "inventory", Path: "/" + c.Params("*"), Timeout: 5 * time.Second, BodyLimit: 1 << 20})
	})

	call := func(path string) (int, string) {
		resp, err := app.Test(httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`)))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	status, body := call("/vouched")
	assert.Equal(t, http.StatusCreated, status)
	assert.Equal(t, `{"success":true}`, body)

	status, body = call("/made-up")
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Contains(t, body, `"SERVICE_UNAVAILABLE"`)
}
