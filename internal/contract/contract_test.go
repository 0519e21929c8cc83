package contract

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func response(status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": []string{"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

func TestEveryContractLoads(t *testing.T) {
	for _, name := range []string{"gateway", "auth", "user", "product", "inventory"} {
		_, err := Load("../..", name)
		require.NoError(t, err, name)
	}
}

// recorder catches what Check reports, so the test can see it fail.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	auth, err := Load("../..", "auth")
	require.NoError(t, err)
	tests := []struct {
		name, path string
		status     int
		body       string
		wantFail   bool
	}{
		{"ready matches", "/ready", 200, `{"status":"ready","service":"auth","checks":{"state:auth-store":"ok"},"timestamp":"2026-01-01T00:00:00Z"}`, false},
		{"ready through the sidecar", "/v1.0/invoke/auth/method/ready", 200, `{"status":"ready","service":"auth","checks":{},"timestamp":"2026-01-01T00:00:00Z"}`, false},
		{"error envelope", "/ready", 401, `{"success":false,"error":{"code":"UNAUTHORIZED","message":"no","correlationId":"c"}}`, false},
		{"missing field", "/ready", 200, `{"status":"ready","service":"auth"}`, true},
		{"wrong enum", "/ready", 200, `{"status":"maybe","service":"auth","checks":{},"timestamp":"2026-01-01T00:00:00Z"}`, true},
		{"undeclared status", "/ready", 418, `{}`, true},
		{"envelope with success true", "/ready", 401, `{"success":true,"error":{"code":"X","message":"m"}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			auth.Check(rec, httptest.NewRequest(http.MethodGet, tt.path, nil), response(tt.status, tt.body))
			require.Equal(t, tt.wantFail, rec.failed)
		})
	}
}
