package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
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
)

// fakeSidecar answers /v1.0/invoke/<app>/method/ready as the table says; an
// app missing from the table hangs until the client gives up.
func fakeSidecar(t *testing.T, answers map[string]int, body string) *sidecar.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "tok", r.Header.Get("dapr-api-token"))
		app := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/invoke/"), "/")[0]
		status, ok := answers[app]
		if !ok {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return sidecar.New(p, "tok")
}

func TestServicesHealth(t *testing.T) {
	tests := []struct {
		name       string
		answers    map[string]int
		body       string
		wantStatus int
		wantState  string
		wantErr    map[string]string // service -> substring of its error
	}{
		{"all healthy", map[string]int{"a": 200, "b": 200}, `{}`, 200, "ok", nil},
		{"a service not ready", map[string]int{"a": 200, "b": 503},
			`{"status":"not_ready","checks":{"state:b-store":"connection refused"}}`, 503, "degraded",
			map[string]string{"b": "state:b-store: connection refused"}},
		{"dapr error", map[string]int{"a": 500, "b": 200},
			`{"errorCode":"ERR_DIRECT_INVOKE","message":"app channel is not initialized"}`, 503, "degraded",
			map[string]string{"a": "HTTP 500: app channel is not initialized"}},
		{"no answer in time", map[string]int{"a": 200}, `{}`, 503, "degraded",
			map[string]string{"b": "no answer within"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dapr := fakeSidecar(t, tt.answers, tt.body)
			rec := httptest.NewRecorder()
			servicesHealthDetail(dapr, []string{"a", "b"}, 200*time.Millisecond)(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			var body ServicesHealth
			require.NoError(t, json.NewDecoder(rec.Body).Decode(&body))

			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, tt.wantState, body.Status)
			require.Len(t, body.Services, 2)
			assert.Equal(t, "a", body.Services[0].Name, "order is the upstream order")
			for _, s := range body.Services {
				if want, failing := tt.wantErr[s.Name]; failing {
					assert.Equal(t, "unhealthy", s.Status, s.Name)
					assert.Contains(t, s.Error, want, s.Name)
				} else {
					assert.Equal(t, "healthy", s.Status, s.Name)
					assert.Empty(t, s.Error, s.Name)
				}
			}
		})
	}
}

// Anonymous callers learn each service's status and timing, never why it
// failed; the reason goes to the log.
func TestServicesHealthPublicHidesReasons(t *testing.T) {
	dapr := fakeSidecar(t, map[string]int{"a": 200, "b": 500}, `{"errorCode":"ERR_DIRECT_INVOKE","message":"dial tcp 127.0.0.1:50021: connection refused"}`)
	var logged strings.Builder
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	app := fiber.New()
	app.Get("/", servicesHealth(dapr, []string{"a", "b"}, 200*time.Millisecond, log))
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/", nil), fiber.TestConfig{Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(raw), `"name":"b","status":"unhealthy"`)
	assert.NotContains(t, string(raw), "127.0.0.1")
	assert.NotContains(t, string(raw), "error")
	assert.Contains(t, logged.String(), "connection refused", "the reason is logged")
}
