package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
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

// authEnv is the whole real platform, with the per-IP limit on login and
// register lifted so tests can hammer them.
func authEnv(t *testing.T, opts ...testenv.Option) *testenv.Env {
	t.Helper()
	// TRUSTED_PROXIES lets a test be many clients through X-Forwarded-For,
	// so login throttling per address does not carry from one case to the
	// next.
	opts = append(opts, testenv.WithEnv("gateway", "AUTH_RATE_LIMIT_BURST=100000", "AUTH_RATE_LIMIT_RPS=100000", "TRUSTED_PROXIES=127.0.0.1"))
	env := testenv.Start(t, stack.Apps, opts...)
	waitFor(t, "the gateway to hold auth's keys", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/.well-known/jwks.json"}).status == http.StatusOK &&
			do(t, env, call{method: http.MethodGet, path: "/ready"}).status == http.StatusOK
	})
	return env
}

// authClient calls the platform through the gateway as one client address.
type authClient struct {
	t   *testing.T
	env *testenv.Env
	ip  string // X-Forwarded-For, trusted by authEnv's gateway
}

func (c authClient) call(method, path string, body any, header map[string]string) answer {
	c.t.Helper()
	a, err := c.send(method, path, body, header)
	require.NoError(c.t, err)
	return a
}

// send is call for goroutines: it reports a transport error instead of
// stopping the test.
func (c authClient) send(method, path string, body any, header map[string]string) (answer, error) {
	h := map[string]string{"X-Forwarded-For": c.ip}
	raw := ""
	if body != nil {
		raw = jsonOf(body)
		h["Content-Type"] = "application/json"
	}
	for k, v := range header {
		h[k] = v
	}
	return send(c.t, c.env, call{method: method, path: path, body: raw, header: h, contract: "auth"})
}

func (c authClient) post(path string, body any, header map[string]string) answer {
	c.t.Helper()
	return c.call(http.MethodPost, path, body, header)
}

func (c authClient) get(path, token string) answer {
	c.t.Helper()
	return c.call(http.MethodGet, path, nil, bearer(token))
}

func (c authClient) login(email, password string) answer {
	c.t.Helper()
	return c.post("/api/v1/auth/login", map[string]string{"email": email, "password": password}, nil)
}

// mustLogin logs in and waits until the gateway accepts the access token
// (it may have to fetch a new signing key first).
func (c authClient) mustLogin(email, password string) pair {
	c.t.Helper()
	a := c.login(email, password)
	require.Equal(c.t, http.StatusOK, a.status, "%s", a.body)
	p := a.pair(c.t)
	waitFor(c.t, "the gateway to accept a new token", func() bool { return c.get("/api/v1/auth/me", p.AccessToken).status == http.StatusOK })
	return p
}

// revoked waits (to a generous deadline) until the gateway refuses token,
// and logs how long that took since since: the 2 s target is a benchmark
// figure (docs/benchmarks.md), not an assertion on a shared machine.
func (c authClient) revoked(token string, since time.Time) {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		return c.call(http.MethodGet, "/api/v1/auth/me", nil, bearer(token)).status == http.StatusUnauthorized
	}, 30*time.Second, 20*time.Millisecond, "the gateway never refused the revoked token")
	c.t.Logf("revocation reached the gateway in %s", time.Since(since).Round(time.Millisecond))
}

func TestAuthFlows(t *testing.T) {
	env := authEnv(t)
	client := authClient{t: t, env: env, ip: "198.51.100.1"}
	post := client.post
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

	t.Run("a run of failed logins never opens a circuit breaker on login", func(t *testing.T) {
		// Twelve accounts, one failure each: under every throttle.
		c := authClient{t: t, env: env, ip: "198.51.100.2"}
		for i := range 12 {
			a := c.login(fmt.Sprintf("nobody%d@example.com", i), "wrong wrong wrong")
			require.Equal(t, http.StatusUnauthorized, a.status, "%s", a.body)
		}
		ok := c.login("ann@example.com", password)
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

	t.Run("forged variants of a real token are refused", func(t *testing.T) {
		real := client.mustLogin("ann@example.com", password)
		var claims jwt.MapClaims
		_, _, err := jwt.NewParser().ParseUnverified(real.AccessToken, &claims)
		require.NoError(t, err)
		kid := jwtHeader(t, real.AccessToken, "kid")

		none := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
		none.Header["kid"] = kid
		algNone, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		require.NoError(t, err)

		// HS256 keyed with auth's published public key: the classic
		// algorithm-confusion attack.
		var jwks struct{ Keys []struct{ Kid, X string } }
		require.NoError(t, json.Unmarshal(client.call(http.MethodGet, "/.well-known/jwks.json", nil, nil).body, &jwks))
		var public []byte
		for _, k := range jwks.Keys {
			if k.Kid == kid {
				public, err = base64.RawURLEncoding.DecodeString(k.X)
				require.NoError(t, err)
			}
		}
		require.NotEmpty(t, public)
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		hs.Header["kid"] = kid
		hsPublic, err := hs.SignedString(public)
		require.NoError(t, err)

		for name, token := range map[string]string{"alg none": algNone, "HS256 with the public key": hsPublic, "tampered role": testjwt.Tampered(real.AccessToken)} {
			a := client.get("/api/v1/auth/me", token)
			assert.Equal(t, http.StatusUnauthorized, a.status, name)
		}
		assert.Equal(t, http.StatusOK, client.get("/api/v1/auth/me", real.AccessToken).status, "the real one still works")
	})

	t.Run("no malformed body gets past a 4xx", func(t *testing.T) {
		token := client.mustLogin("ann@example.com", password).AccessToken
		bodies := []string{`{`, `[]`, `null`, `"text"`, `{"email":5,"password":true}`, `{"refreshToken":{"a":1}}`,
			`{"oldPassword":[],"newPassword":1}`, `{"role":7}`, "\x00\xff", strings.Repeat("a", 70000)}
		paths := []struct{ method, path string }{
			{http.MethodPost, "/api/v1/auth/register"}, {http.MethodPost, "/api/v1/auth/login"},
			{http.MethodPost, "/api/v1/auth/refresh-token"}, {http.MethodPost, "/api/v1/auth/logout"},
			{http.MethodPost, "/api/v1/auth/change-password"}, {http.MethodPut, "/api/v1/auth/users/x/role"},
		}
		for _, p := range paths {
			for _, body := range bodies {
				a := do(t, env, call{method: p.method, path: p.path, body: body,
					header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token, "X-Forwarded-For": "198.51.100.9"}})
				assert.True(t, a.status >= 400 && a.status < 500, "%s %s %.20q -> %d %s", p.method, p.path, body, a.status, a.body)
				a.errorCode(t) // always the envelope
			}
		}
		huge := `{"email":"ann@example.com","password":"` + strings.Repeat("p", 2<<20) + `"}`
		a := do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/login", body: huge, header: map[string]string{"Content-Type": "application/json"}})
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.status, "a body over BODY_LIMIT (1 MiB)")
		assert.Equal(t, "PAYLOAD_TOO_LARGE", a.errorCode(t))
		for _, bad := range []string{"/api/v1/auth/sessions/%00", "/api/v1/auth/sessions/" + strings.Repeat("x", 2000), "/api/v1/auth/sessions/..%2f..%2fkeys"} {
			a := client.call(http.MethodDelete, bad, nil, bearer(token))
			assert.True(t, a.status >= 400 && a.status < 500, "%s -> %d %s", bad, a.status, a.body)
		}
	})

	t.Run("logout ends the session: its refresh token, and its access token at the gateway", func(t *testing.T) {
		login := client.mustLogin("ann@example.com", password)
		a := post("/api/v1/auth/logout", map[string]string{"refreshToken": login.RefreshToken}, bearer(login.AccessToken))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		client.revoked(login.AccessToken, time.Now())
		a = post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil)
		assert.Equal(t, http.StatusUnauthorized, a.status)
	})

	t.Run("a reused refresh token also voids the family's access token", func(t *testing.T) {
		login := client.mustLogin("ann@example.com", password)
		time.Sleep(1100 * time.Millisecond)
		require.Equal(t, http.StatusOK, post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil).status)
		reuse := post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil)
		require.Equal(t, http.StatusUnauthorized, reuse.status)
		client.revoked(login.AccessToken, time.Now())
	})

	t.Run("sessions: listed with their client, ended one by one", func(t *testing.T) {
		phone := authClient{t: t, env: env, ip: "198.51.100.3"}
		laptop := client.mustLogin("ann@example.com", password)
		a := phone.post("/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": password}, map[string]string{"User-Agent": "qeetmart-phone/1.0"})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		onPhone := a.pair(t)
		phoneSession := jwtClaim(t, onPhone.AccessToken, "sid")

		a = client.get("/api/v1/auth/sessions", laptop.AccessToken)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		var sessions []struct {
			ID, UserAgent, IP     string
			CreatedAt, LastUsedAt time.Time
			Current               bool
		}
		require.NoError(t, json.Unmarshal(a.body, &sessions))
		byID := map[string]int{}
		for i, s := range sessions {
			byID[s.ID] = i
		}
		require.Contains(t, byID, phoneSession)
		require.Contains(t, byID, jwtClaim(t, laptop.AccessToken, "sid"))
		got := sessions[byID[phoneSession]]
		assert.Equal(t, "qeetmart-phone/1.0", got.UserAgent)
		assert.Equal(t, "198.51.100.3", got.IP)
		assert.False(t, got.Current)
		assert.True(t, sessions[byID[jwtClaim(t, laptop.AccessToken, "sid")]].Current)

		// Another user cannot end Ann's session; an unknown id is 404 too.
		bob := post("/api/v1/auth/register", map[string]string{"email": "bob@example.com", "password": password}, nil).pair(t)
		a = client.call(http.MethodDelete, "/api/v1/auth/sessions/"+phoneSession, nil, bearer(bob.AccessToken))
		assert.Equal(t, http.StatusNotFound, a.status, "%s", a.body)
		a = client.call(http.MethodDelete, "/api/v1/auth/sessions/no-such-session", nil, bearer(laptop.AccessToken))
		assert.Equal(t, http.StatusNotFound, a.status)

		a = client.call(http.MethodDelete, "/api/v1/auth/sessions/"+phoneSession, nil, bearer(laptop.AccessToken))
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		phone.revoked(onPhone.AccessToken, time.Now())
		assert.Equal(t, http.StatusUnauthorized, post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": onPhone.RefreshToken}, nil).status)
		assert.Equal(t, http.StatusOK, client.get("/api/v1/auth/me", laptop.AccessToken).status, "the other session carries on")
		a = client.get("/api/v1/auth/sessions", laptop.AccessToken)
		assert.NotContains(t, string(a.body), phoneSession)
	})

	t.Run("logout-all ends every session; a new login works at once", func(t *testing.T) {
		one := client.mustLogin("ann@example.com", password)
		two := client.mustLogin("ann@example.com", password)
		a := client.post("/api/v1/auth/logout-all", nil, bearer(one.AccessToken))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		ended := time.Now()
		client.revoked(one.AccessToken, ended)
		client.revoked(two.AccessToken, ended)
		for _, p := range []pair{one, two} {
			assert.Equal(t, http.StatusUnauthorized, post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": p.RefreshToken}, nil).status)
		}
		fresh := client.mustLogin("ann@example.com", password)
		assert.Equal(t, http.StatusOK, client.get("/api/v1/auth/sessions", fresh.AccessToken).status)
	})

	t.Run("change-password keeps this session and ends the others", func(t *testing.T) {
		const newPassword = "a brand new passphrase"
		c := authClient{t: t, env: env, ip: "198.51.100.4"}
		here := c.mustLogin("ann@example.com", password)
		there := c.mustLogin("ann@example.com", password)
		change := func(old, new string) answer {
			return c.post("/api/v1/auth/change-password", map[string]string{"oldPassword": old, "newPassword": new}, bearer(here.AccessToken))
		}
		a := change("not my password", newPassword)
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.Equal(t, "INVALID_PASSWORD", a.errorCode(t))
		assert.Equal(t, http.StatusBadRequest, change(password, password).status, "same as the old one")
		a = change(password, "password1")
		assert.Equal(t, http.StatusBadRequest, a.status, "a common password")
		assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t))
		a = c.call(http.MethodPost, "/api/v1/auth/change-password", map[string]int{"oldPassword": 5}, bearer(here.AccessToken))
		assert.Equal(t, http.StatusBadRequest, a.status, "wrong types")

		a = change(password, newPassword)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		c.revoked(there.AccessToken, time.Now())
		assert.Equal(t, http.StatusUnauthorized, c.post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": there.RefreshToken}, nil).status)
		assert.Equal(t, http.StatusOK, c.get("/api/v1/auth/me", here.AccessToken).status, "the caller's session carries on")
		assert.Equal(t, http.StatusOK, c.post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": here.RefreshToken}, nil).status)
		assert.Equal(t, http.StatusUnauthorized, c.login("ann@example.com", password).status)
		assert.Equal(t, http.StatusOK, c.login("ann@example.com", newPassword).status)
	})

	t.Run("failed logins lock the account briefly, from any address", func(t *testing.T) {
		attacker := authClient{t: t, env: env, ip: "203.0.113.10"}
		owner := authClient{t: t, env: env, ip: "203.0.113.11"}
		require.Equal(t, http.StatusCreated, post("/api/v1/auth/register", map[string]string{"email": "carol@example.com", "password": password}, nil).status)
		for range 5 {
			require.Equal(t, http.StatusUnauthorized, attacker.login("carol@example.com", "guess guess guess").status)
		}
		a := attacker.login("carol@example.com", password)
		require.Equal(t, http.StatusTooManyRequests, a.status, "even the right password while locked: %s", a.body)
		assert.Equal(t, "TOO_MANY_ATTEMPTS", a.errorCode(t))
		retry, err := strconv.Atoi(a.header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After in seconds")
		assert.Equal(t, 1, retry, "the first lock is short")
		assert.Equal(t, http.StatusTooManyRequests, owner.login("carol@example.com", password).status, "per account")
		time.Sleep(time.Duration(retry) * time.Second)
		assert.Equal(t, http.StatusOK, owner.login("carol@example.com", password).status, "the owner gets in once the lock ends")
	})

	t.Run("failed logins from one address lock that address", func(t *testing.T) {
		sprayer := authClient{t: t, env: env, ip: "203.0.113.20"}
		for i := range 20 {
			require.Equal(t, http.StatusUnauthorized, sprayer.login(fmt.Sprintf("user%d@example.com", i), "Winter2026!").status)
		}
		a := sprayer.login("ann@example.com", "a brand new passphrase")
		assert.Equal(t, http.StatusTooManyRequests, a.status, "%s", a.body)
		assert.NotEmpty(t, a.header.Get("Retry-After"))
		other := authClient{t: t, env: env, ip: "203.0.113.21"}
		assert.Equal(t, http.StatusOK, other.login("ann@example.com", "a brand new passphrase").status, "other addresses are not affected")
	})
}

func TestAuthConcurrentRegistration(t *testing.T) {
	env := authEnv(t)
	const n = 50
	answers := concurrently(t, n, func(int) (answer, error) {
		return send(t, env, call{method: http.MethodPost, path: "/api/v1/auth/register",
			body:   `{"email":"race@example.com","password":"correct horse battery staple"}`,
			header: map[string]string{"Content-Type": "application/json"}})
	})
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, statusCounts(answers))
}

// The revocation events travel on a Redis stream, and a Redis that restarts
// without its data takes them all. A gateway replica started after that
// must still refuse every token revoked before: it reads auth's list in
// force before it accepts any token, and again every
// REVOCATION_SYNC_INTERVAL.
func TestGatewayRefusesRevokedTokensAfterRedisLosesThem(t *testing.T) {
	env := authEnv(t)
	c := authClient{t: t, env: env, ip: "198.51.100.80"}
	const password = "correct horse battery staple"
	for _, email := range []string{"lena@example.com", "omar@example.com"} {
		require.Equal(t, http.StatusCreated, c.post("/api/v1/auth/register", map[string]string{"email": email, "password": password}, nil).status)
	}
	ended := c.mustLogin("lena@example.com", password)
	kept := c.mustLogin("lena@example.com", password)
	cutOff := c.mustLogin("omar@example.com", password)
	require.Equal(t, http.StatusOK, c.post("/api/v1/auth/logout", map[string]string{"refreshToken": ended.RefreshToken}, nil).status)
	require.Equal(t, http.StatusOK, c.post("/api/v1/auth/logout-all", nil, bearer(cutOff.AccessToken)).status)
	c.revoked(ended.AccessToken, time.Now())
	c.revoked(cutOff.AccessToken, time.Now())

	require.NoError(t, env.Stack.RestartRedis(t.Context(), false))
	replica := env.AddReplica("gateway", "2")
	at := func(token string) int {
		return do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(token), gateway: replica}).status
	}
	// Once the new replica accepts a token at all...
	waitFor(t, "the new replica accepts a live token", func() bool { return at(kept.AccessToken) == http.StatusOK })
	// ...it refuses the revoked ones, though no event told it.
	assert.Equal(t, http.StatusUnauthorized, at(ended.AccessToken), "a logged-out session")
	assert.Equal(t, http.StatusUnauthorized, at(cutOff.AccessToken), "a user who logged out everywhere")
}

func TestAuthConcurrentSessions(t *testing.T) {
	env := authEnv(t)
	c := authClient{t: t, env: env, ip: "198.51.100.70"}
	const password = "correct horse battery staple"
	require.Equal(t, http.StatusCreated, c.post("/api/v1/auth/register", map[string]string{"email": "eve@example.com", "password": password}, nil).status)

	t.Run("one refresh token spent by many at once: at most one new pair", func(t *testing.T) {
		for round := range 3 {
			login := c.mustLogin("eve@example.com", password)
			const n = 20
			counts := statusCounts(concurrently(t, n, func(int) (answer, error) {
				return c.send(http.MethodPost, "/api/v1/auth/refresh-token", map[string]string{"refreshToken": login.RefreshToken}, nil)
			}))
			assert.LessOrEqual(t, counts[http.StatusOK], 1, "round %d: %v", round, counts)
			assert.Equal(t, n, counts[http.StatusOK]+counts[http.StatusUnauthorized], "round %d: only 200 or 401: %v", round, counts)
		}
	})

	t.Run("parallel logins each get a session of their own", func(t *testing.T) {
		// Few enough password checks at once to finish within the request
		// deadline under -race on 2 cores (8 did not on 2026-12-06).
		const n = 4
		answers := concurrently(t, n, func(int) (answer, error) {
			return c.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "eve@example.com", "password": password}, nil)
		})
		tokens := make([]string, n)
		for i, a := range answers {
			if a.status == http.StatusOK {
				tokens[i] = a.pair(t).AccessToken
			}
		}
		sids := map[string]bool{}
		for _, tok := range tokens {
			require.NotEmpty(t, tok, "every login succeeds")
			sids[jwtClaim(t, tok, "sid")] = true
		}
		assert.Len(t, sids, n)
		a := c.get("/api/v1/auth/sessions", tokens[0])
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		for sid := range sids {
			assert.Contains(t, string(a.body), sid)
		}
	})
}

func TestAuthAdmin(t *testing.T) {
	const rootPassword = "an admin passphrase"
	env := authEnv(t,
		testenv.WithEnv("auth", "AUTH_ADMIN_EMAIL=Root@Example.com", "AUTH_ADMIN_PASSWORD="+rootPassword, "AUTH_KEY_ACTIVATION_DELAY=2s"),
		testenv.WithEnv("gateway", "JWKS_REFETCH_COOLDOWN=1s"))
	c := authClient{t: t, env: env, ip: "198.51.100.50"}
	root := c.mustLogin("root@example.com", rootPassword)
	var me struct{ ID, Role string }
	require.NoError(t, json.Unmarshal(c.get("/api/v1/auth/me", root.AccessToken).body, &me))
	assert.Equal(t, "ADMIN", me.Role, "the admin from AUTH_ADMIN_EMAIL")
	rootID := me.ID

	const davePassword = "dave's own passphrase"
	a := c.post("/api/v1/auth/register", map[string]string{"email": "dave@example.com", "password": davePassword}, nil)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	dave := a.pair(t)
	daveID := jwtClaim(t, dave.AccessToken, "sub")

	t.Run("admin endpoints refuse a plain user", func(t *testing.T) {
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/auth/users"},
			{http.MethodPut, "/api/v1/auth/users/" + rootID + "/role"},
			{http.MethodPost, "/api/v1/auth/users/" + rootID + "/disable"},
			{http.MethodPost, "/api/v1/auth/keys/rotate"},
		} {
			var body any
			if req.method == http.MethodPut {
				body = map[string]string{"role": "USER"}
			}
			a := c.call(req.method, req.path, body, bearer(dave.AccessToken))
			assert.Equal(t, http.StatusForbidden, a.status, "%s %s: %s", req.method, req.path, a.body)
		}
	})

	t.Run("users are listed in pages, in creation order", func(t *testing.T) {
		var page struct {
			Content []struct {
				ID, Email, Role string
				Disabled        bool
			}
			Page, Size, TotalElements, TotalPages int
			Last                                  bool
		}
		a := c.get("/api/v1/auth/users?page=0&size=1", root.AccessToken)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		require.NoError(t, json.Unmarshal(a.body, &page))
		assert.Equal(t, 2, page.TotalElements)
		assert.Equal(t, 2, page.TotalPages)
		assert.False(t, page.Last)
		require.Len(t, page.Content, 1)
		assert.Equal(t, "root@example.com", page.Content[0].Email, "the first account first")
		assert.NotContains(t, string(a.body), "argon2")

		require.NoError(t, json.Unmarshal(c.get("/api/v1/auth/users?page=1&size=1", root.AccessToken).body, &page))
		require.Len(t, page.Content, 1)
		assert.Equal(t, daveID, page.Content[0].ID)
		assert.True(t, page.Last)

		for _, q := range []string{"size=101", "size=0", "page=-1", "size=ten", "page=9223372036854775807", "page=99999999999999999999"} {
			a := c.get("/api/v1/auth/users?"+q, root.AccessToken)
			assert.Equal(t, http.StatusBadRequest, a.status, q)
			assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), q)
		}
	})

	t.Run("a role change ends the account's sessions", func(t *testing.T) {
		setRole := func(id, role string) answer {
			return c.call(http.MethodPut, "/api/v1/auth/users/"+id+"/role", map[string]string{"role": role}, bearer(root.AccessToken))
		}
		assert.Equal(t, http.StatusBadRequest, setRole(daveID, "GOD").status)
		assert.Equal(t, http.StatusNotFound, setRole("no-such-user", "ADMIN").status)
		assert.Equal(t, http.StatusConflict, setRole(rootID, "USER").status, "an admin cannot demote themselves")

		a := setRole(daveID, "ADMIN")
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Contains(t, string(a.body), `"role":"ADMIN"`)
		c.revoked(dave.AccessToken, time.Now())
		dave = c.mustLogin("dave@example.com", davePassword)
		assert.Equal(t, "ADMIN", jwtClaim(t, dave.AccessToken, "role"))
		require.Equal(t, http.StatusOK, setRole(daveID, "USER").status)
		c.revoked(dave.AccessToken, time.Now())
	})

	t.Run("a disabled user's tokens stop working, and they cannot log in until enabled", func(t *testing.T) {
		dave = c.mustLogin("dave@example.com", davePassword)
		assert.Equal(t, http.StatusConflict, c.post("/api/v1/auth/users/"+rootID+"/disable", nil, bearer(root.AccessToken)).status, "not oneself")

		a := c.post("/api/v1/auth/users/"+daveID+"/disable", nil, bearer(root.AccessToken))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Contains(t, string(a.body), `"disabled":true`)
		c.revoked(dave.AccessToken, time.Now())
		assert.Equal(t, http.StatusUnauthorized, c.login("dave@example.com", davePassword).status)
		assert.Equal(t, http.StatusUnauthorized, c.post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": dave.RefreshToken}, nil).status)

		a = c.post("/api/v1/auth/users/"+daveID+"/enable", nil, bearer(root.AccessToken))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		c.mustLogin("dave@example.com", davePassword)
	})

	t.Run("key rotation: published first, then signing; no token is ever refused", func(t *testing.T) {
		oldKID := jwtHeader(t, root.AccessToken, "kid")
		a := c.post("/api/v1/auth/keys/rotate", nil, bearer(root.AccessToken))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		var rotated struct {
			KID        string
			ActiveFrom time.Time
		}
		require.NoError(t, json.Unmarshal(a.body, &rotated))
		assert.NotEqual(t, oldKID, rotated.KID)

		jwks := string(c.call(http.MethodGet, "/.well-known/jwks.json", nil, nil).body)
		assert.Contains(t, jwks, rotated.KID, "published at once")
		assert.Contains(t, jwks, oldKID)
		assert.NotContains(t, jwks, `"d"`, "never a private key")
		before := c.login("root@example.com", rootPassword).pair(t)
		assert.Equal(t, oldKID, jwtHeader(t, before.AccessToken, "kid"), "the old key signs until the new one's time")

		time.Sleep(time.Until(rotated.ActiveFrom) + 100*time.Millisecond)
		after := c.login("root@example.com", rootPassword).pair(t)
		assert.Equal(t, rotated.KID, jwtHeader(t, after.AccessToken, "kid"))
		// No waiting: the gateway takes the new key on first sight.
		assert.Equal(t, http.StatusOK, c.get("/api/v1/auth/me", after.AccessToken).status, "a token of the new key")
		assert.Equal(t, http.StatusOK, c.get("/api/v1/auth/me", root.AccessToken).status, "a token of the retired key")
		assert.Contains(t, string(c.call(http.MethodGet, "/.well-known/jwks.json", nil, nil).body), oldKID, "the retired key stays published")
		assert.Equal(t, http.StatusOK, c.post("/api/v1/auth/refresh-token", map[string]string{"refreshToken": root.RefreshToken}, nil).status)
	})

	t.Run("a restart keeps the admin as is, and re-hashes a password with stronger settings at login", func(t *testing.T) {
		storedHash := func() string {
			conn, err := pgx.Connect(t.Context(), env.DSN("auth"))
			require.NoError(t, err)
			defer conn.Close(t.Context())
			var hash string
			require.NoError(t, conn.QueryRow(t.Context(),
				`SELECT value->>'passwordHash' FROM state WHERE key LIKE 'auth||user:%' AND value->>'email' = 'dave@example.com'`).Scan(&hash))
			return hash
		}
		assert.Contains(t, storedHash(), "t=2,")

		env.SetEnv("auth", "ARGON2_TIME=3")
		require.NoError(t, env.StopApp("auth"))
		require.NoError(t, env.StartApp("auth"))
		require.NoError(t, env.WaitAppReady(t.Context(), "auth"))
		// The gateway's sidecar may answer 502 once while it reconnects to
		// the restarted sidecar (a POST is not retried).
		waitFor(t, "login after restart", func() bool {
			return do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/login",
				body:   jsonOf(map[string]string{"email": "root@example.com", "password": rootPassword}),
				header: map[string]string{"Content-Type": "application/json"}}).status == http.StatusOK
		})
		a := c.post("/api/v1/auth/register", map[string]string{"email": "root@example.com", "password": "another passphrase"}, nil)
		assert.Equal(t, http.StatusConflict, a.status, "still one account for that email, password unchanged")

		require.Equal(t, http.StatusOK, c.login("dave@example.com", davePassword).status)
		assert.Contains(t, storedHash(), "t=3,", "re-hashed with the new cost at login")
		assert.Equal(t, http.StatusOK, c.login("dave@example.com", davePassword).status)
	})
}
