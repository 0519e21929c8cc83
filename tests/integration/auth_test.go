package integration

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
)

type pair struct {
	AccessToken, RefreshToken, TokenType string
	ExpiresIn                            int
}

func (a answer) pair(t *testing.T) pair {
	t.Helper()
	var p pair
	require.NoError(t, json.Unmarshal(a.body, &p), "%s", a.body)
	return p
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// authEnv is the whole real platform, with the per-IP limit on login and
// register lifted so tests can hammer them.
func authEnv(t *testing.T, opts ...testenv.Option) *testenv.Env {
	t.Helper()
	opts = append(opts, testenv.WithEnv("gateway", "AUTH_RATE_LIMIT_BURST=100000", "AUTH_RATE_LIMIT_RPS=100000"))
	env := testenv.Start(t, stack.Apps, opts...)
	waitFor(t, "the gateway to hold auth's keys", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/.well-known/jwks.json"}).status == http.StatusOK &&
			do(t, env, call{method: http.MethodGet, path: "/ready"}).status == http.StatusOK
	})
	return env
}

func TestAuthFlows(t *testing.T) {
	env := authEnv(t)
	post := func(path string, body any, header map[string]string) answer {
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range header {
			h[k] = v
		}
		return do(t, env, call{method: http.MethodPost, path: path, body: jsonBody(t, body), header: h, contract: "auth"})
	}
	const password = "correct horse battery staple"

	var registered pair
	t.Run("register answers 201 with a token pair the gateway accepts", func(t *testing.T) {
		a := post("/api/v1/auth/register", map[string]string{"email": "  Ann@Example.com ", "password": password, "role": "ADMIN"}, nil)
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		registered = a.pair(t)
		assert.Equal(t, "Bearer", registered.TokenType)
		assert.Equal(t, 900, registered.ExpiresIn)

		var me struct{ ID, Email, Role string }
		waitFor(t, "the gateway to know the new key", func() bool {
			return do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(registered.AccessToken)}).status == http.StatusOK
		})
		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(registered.AccessToken), contract: "auth"})
		require.NoError(t, json.Unmarshal(a.body, &me))
		assert.Equal(t, "ann@example.com", me.Email, "trimmed and lower-cased")
		assert.Equal(t, "USER", me.Role, "a role in the request is ignored")
		assert.NotEmpty(t, me.ID)
		assert.NotContains(t, string(a.body), "argon2", "never the hash")
	})

	t.Run("a taken email is 409, whatever its case", func(t *testing.T) {
		a := post("/api/v1/auth/register", map[string]string{"email": "ANN@example.com", "password": password}, nil)
		assert.Equal(t, http.StatusConflict, a.status)
		assert.Equal(t, "EMAIL_TAKEN", a.errorCode(t))
	})

	t.Run("bad input is a 400 with field details", func(t *testing.T) {
		tests := []struct {
			body, field string
		}{
			{`{"email":"not-an-email","password":"correct horse battery staple"}`, "email"},
			{`{"email":"bob@example.com","password":"short"}`, "password"},
			{`{"email":"bob@example.com","password":"password1"}`, "password"},
			{`{"email":"bob@example.com"}`, "password"},
		}
		for _, tt := range tests {
			a := do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/register", body: tt.body, header: map[string]string{"Content-Type": "application/json"}, contract: "auth"})
			assert.Equal(t, http.StatusBadRequest, a.status, tt.body)
			assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), tt.body)
			assert.Contains(t, string(a.body), `"`+tt.field+`"`, tt.body)
		}
		for _, body := range []string{`{"email":`, `[]`, `{"email":5,"password":true}`, ``} {
			a := do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/login", body: body, header: map[string]string{"Content-Type": "application/json"}})
			assert.Equal(t, http.StatusBadRequest, a.status, body)
		}
	})

	t.Run("login: unknown email and wrong password look the same", func(t *testing.T) {
		wrong := post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": "not the password at all"}, nil)
		unknown := post("/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": "not the password at all"}, nil)
		assert.Equal(t, http.StatusUnauthorized, wrong.status)
		assert.Equal(t, http.StatusUnauthorized, unknown.status)
		assert.Equal(t, wrong.errorCode(t), unknown.errorCode(t))
		ok := post("/api/v1/auth/login", map[string]string{"email": "ANN@example.com", "password": password}, nil)
		require.Equal(t, http.StatusOK, ok.status, "%s", ok.body)
	})

	t.Run("a run of wrong passwords never opens a circuit breaker on login", func(t *testing.T) {
		for range 12 {
			a := post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": "wrong wrong wrong"}, nil)
			require.Equal(t, http.StatusUnauthorized, a.status, "%s", a.body)
		}
		ok := post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": password}, nil)
		assert.Equal(t, http.StatusOK, ok.status, "%s", ok.body)
	})

	t.Run("refresh rotates; a spent refresh token revokes its whole family", func(t *testing.T) {
		login := post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": password}, nil).pair(t)
		time.Sleep(1100 * time.Millisecond) // new iat, so the new pair differs visibly
		next := post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil)
		require.Equal(t, http.StatusOK, next.status, "%s", next.body)
		rotated := next.pair(t)
		assert.NotEqual(t, login.RefreshToken, rotated.RefreshToken)

		reuse := post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil)
		assert.Equal(t, http.StatusUnauthorized, reuse.status, "the spent token")
		after := post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": rotated.RefreshToken}, nil)
		assert.Equal(t, http.StatusUnauthorized, after.status, "and the family it belonged to")
	})

	t.Run("token types cannot stand in for each other", func(t *testing.T) {
		login := post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": password}, nil).pair(t)
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(login.RefreshToken)})
		assert.Equal(t, http.StatusUnauthorized, a.status, "a refresh token is not a bearer token")
		a = post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.AccessToken}, nil)
		assert.Equal(t, http.StatusUnauthorized, a.status, "an access token is not a refresh token")
	})

	t.Run("logout ends the session's refresh token", func(t *testing.T) {
		login := post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": password}, nil).pair(t)
		a := post("/api/v1/auth/logout", map[string]string{"refreshToken": login.RefreshToken}, bearer(login.AccessToken))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		a = post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil)
		assert.Equal(t, http.StatusUnauthorized, a.status)
	})
}

func TestAuthConcurrentRegistration(t *testing.T) {
	env := authEnv(t)
	const n = 50
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/register",
				body:   `{"email":"race@example.com","password":"correct horse battery staple"}`,
				header: map[string]string{"Content-Type": "application/json"}}).status
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, counts)
}

func TestAuthAdminBootstrap(t *testing.T) {
	env := authEnv(t, testenv.WithEnv("auth", "AUTH_ADMIN_EMAIL=Root@Example.com", "AUTH_ADMIN_PASSWORD=an admin passphrase"))
	login := func(password string) answer {
		return do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/login", contract: "auth",
			body: jsonBody(t, map[string]string{"email": "root@example.com", "password": password}), header: map[string]string{"Content-Type": "application/json"}})
	}
	a := login("an admin passphrase")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var me struct{ Role string }
	waitFor(t, "the gateway to know auth's key", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(a.pair(t).AccessToken)}).status == http.StatusOK
	})
	me.Role = ""
	require.NoError(t, json.Unmarshal(do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(a.pair(t).AccessToken)}).body, &me))
	assert.Equal(t, "ADMIN", me.Role)

	// A restart with the same settings changes nothing (idempotent).
	require.NoError(t, env.StopApp("auth"))
	require.NoError(t, env.StartApp("auth"))
	require.NoError(t, env.WaitAppReady(t.Context(), "auth"))
	// The gateway's sidecar may answer 502 once while it reconnects to the
	// restarted sidecar (a POST is not retried); then the same password
	// works: the account was neither re-created nor overwritten.
	waitFor(t, "login after restart", func() bool {
		return do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/login",
			body:   jsonBody(t, map[string]string{"email": "root@example.com", "password": "an admin passphrase"}),
			header: map[string]string{"Content-Type": "application/json"}}).status == http.StatusOK
	})
	a = do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/register", contract: "auth",
		body: jsonBody(t, map[string]string{"email": "root@example.com", "password": "another passphrase"}), header: map[string]string{"Content-Type": "application/json"}})
	assert.Equal(t, http.StatusConflict, a.status, "still one account for that email")
}
