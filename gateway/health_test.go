package main

import (
	"encoding/json"
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
			app := fiber.New()
			app.Get("/", servicesHealth(fakeSidecar(t, tt.answers, tt.body), []string{"a", "b"}, 200*time.Millisecond))
			resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/", nil), fiber.TestConfig{Timeout: 5 * time.Second})
			require.NoError(t, err)
			defer resp.Body.Close()
			var body ServicesHealth
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))

			assert.Equal(t, tt.wantStatus, resp.StatusCode)
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
