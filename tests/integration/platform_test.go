package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/contract"
	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
)

var services = []string{"auth", "user", "product", "inventory"}

type servicesHealth struct {
	Status   string `json:"status"`
	Services []struct {
		Name, Status, Error string
		ResponseTime        int64
	} `json:"services"`
}

// contracts are the OpenAPI files, loaded once per test binary; tests in
// goroutines use them too.
var contracts = struct {
	sync.Mutex
	byName map[string]*contract.Contract
}{byName: map[string]*contract.Contract{}}

func contractOf(t testing.TB, name string) *contract.Contract {
	t.Helper()
	contracts.Lock()
	defer contracts.Unlock()
	if c, ok := contracts.byName[name]; ok {
		return c
	}
	// The test binary runs in tests/integration.
	c, err := contract.Load(filepath.Join("..", ".."), name)
	if err != nil {
		t.Errorf("contract %s: %v", name, err)
		return nil
	}
	contracts.byName[name] = c
	return c
}

// getJSON GETs url, checks the answer against app's contract, and decodes it
// into into (when not nil).
func getJSON(t *testing.T, app, url string, header map[string]string, into any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	contractOf(t, app).Check(t, req, resp)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if into != nil {
		require.NoError(t, json.Unmarshal(body, into), "body: %s", body)
	}
	return resp.StatusCode
}

func health(t *testing.T, env *testenv.Env) (int, servicesHealth) {
	t.Helper()
	var h servicesHealth
	status := getJSON(t, "gateway", env.URL("gateway")+"/health/services", nil, &h)
	return status, h
}

func TestPlatform(t *testing.T) {
	env := testenv.Start(t, stack.Apps)

	t.Run("every service is ready behind its sidecar, through Dapr", func(t *testing.T) {
		for _, svc := range services {
			status := getJSON(t, svc, env.SidecarURL("gateway")+"/v1.0/invoke/"+svc+"/method/ready",
				map[string]string{"dapr-api-token": env.DaprAPIToken("gateway")}, nil)
			assert.Equal(t, http.StatusOK, status, svc)
		}
	})

	t.Run("the gateway answers its own health and info", func(t *testing.T) {
		var info map[string]any
		assert.Equal(t, http.StatusOK, getJSON(t, "gateway", env.URL("gateway")+"/health", nil, nil))
		assert.Equal(t, http.StatusOK, getJSON(t, "gateway", env.URL("gateway")+"/ready", nil, nil))
		assert.Equal(t, http.StatusOK, getJSON(t, "gateway", env.URL("gateway")+"/info", nil, &info))
		assert.ElementsMatch(t, []string{"name", "version", "timestamp"}, keys(info), "no internal addresses")
	})

	t.Run("the gateway reaches every service: /health/services is ok", func(t *testing.T) {
		status, h := health(t, env)
		require.Equal(t, http.StatusOK, status, "%+v", h)
		assert.Equal(t, "ok", h.Status)
		var names []string
		for _, s := range h.Services {
			names = append(names, s.Name)
			assert.Equal(t, "healthy", s.Status, s.Name)
		}
		assert.ElementsMatch(t, services, names)
	})

	t.Run("a call that skips the sidecar is refused", func(t *testing.T) {
		for _, svc := range services {
			var e struct {
				Success bool
				Error   struct{ Code, Message, CorrelationID string }
			}
			status := getJSON(t, svc, env.URL(svc)+"/ready", nil, &e)
			assert.Equal(t, http.StatusUnauthorized, status, svc)
			assert.Equal(t, "UNAUTHORIZED", e.Error.Code, svc)
			assert.NotEmpty(t, e.Error.CorrelationID, svc)

			status = getJSON(t, svc, env.URL(svc)+"/ready", map[string]string{"dapr-api-token": "wrong"}, nil)
			assert.Equal(t, http.StatusUnauthorized, status, svc)

			// Liveness is the one exempt path: it touches nothing.
			status = getJSON(t, svc, env.URL(svc)+"/health", nil, nil)
			assert.Equal(t, http.StatusOK, status, svc)
		}
	})

	t.Run("a sidecar refuses API calls without its app's token", func(t *testing.T) {
		resp, err := http.Get(env.SidecarURL("gateway") + "/v1.0/invoke/auth/method/ready")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})

	// A service's sidecar does not serve the invoke API at all
	// (dapr/config/<app>.yaml); access control on the callee (only the
	// gateway's identity) stands behind that.
	t.Run("services cannot invoke each other; only the gateway may", func(t *testing.T) {
		for _, from := range services {
			for _, to := range services {
				if from == to {
					continue
				}
				resp, err := env.Invoke(from, to, "ready")
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s -> %s: %s", from, to, body)
			}
		}
	})

	t.Run("a stopped service turns health degraded, naming it (not why), and recovers", func(t *testing.T) {
		require.NoError(t, env.StopAppOnly("product"))
		var h servicesHealth
		require.Eventually(t, func() bool {
			var status int
			status, h = health(t, env)
			return status == http.StatusServiceUnavailable
		}, 30*time.Second, 200*time.Millisecond)
		assert.Equal(t, "degraded", h.Status)
		for _, s := range h.Services {
			if s.Name == "product" {
				assert.Equal(t, "unhealthy", s.Status)
				assert.Empty(t, s.Error, "anonymous callers are not told why")
			} else {
				assert.Equal(t, "healthy", s.Status, s.Name)
			}
		}

		require.NoError(t, env.StartApp("product"))
		require.Eventually(t, func() bool {
			status, _ := health(t, env)
			return status == http.StatusOK
		}, 60*time.Second, 250*time.Millisecond)
	})

	t.Run("a service whose sidecar is gone too is reported, and recovers", func(t *testing.T) {
		require.NoError(t, env.StopApp("inventory"))
		require.Eventually(t, func() bool {
			status, h := health(t, env)
			if status != http.StatusServiceUnavailable {
				return false
			}
			for _, s := range h.Services {
				if s.Name == "inventory" {
					return s.Status == "unhealthy"
				}
			}
			return false
		}, 30*time.Second, 200*time.Millisecond)

		require.NoError(t, env.StartApp("inventory"))
		require.Eventually(t, func() bool {
			status, _ := health(t, env)
			return status == http.StatusOK
		}, 60*time.Second, 250*time.Millisecond)
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
