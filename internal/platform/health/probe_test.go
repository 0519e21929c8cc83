package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exec probe asks the program on its own port with the sidecar's token,
// and only a 2xx passes.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("dapr-api-token") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	env := []string{"PORT=" + u.Port(), "HOST=0.0.0.0", "APP_API_TOKEN=secret"}

	assert.NoError(t, Probe(context.Background(), env, 1, "/health"))
	assert.ErrorContains(t, Probe(context.Background(), env, 1, "/ready"), "503")
	assert.ErrorContains(t, Probe(context.Background(), env[:2], 1, "/health"), "401")
	assert.Error(t, Probe(context.Background(), env, 1, "health"))
}
