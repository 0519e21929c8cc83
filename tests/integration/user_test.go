package integration

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

const userAdminPassword = "an admin passphrase"

// adminEnv is the gateway, auth and service, with an admin account
// (root@example.com) and the gateway's per-IP limits lifted.
func adminEnv(t *testing.T, service string, opts ...testenv.Option) *testenv.Env {
	t.Helper()
	return adminEnvOf(t, []string{service}, opts...)
}

// adminEnvOf is adminEnv with several services.
func adminEnvOf(t *testing.T, services []string, opts ...testenv.Option) *testenv.Env {
	t.Helper()
	env := testenv.Start(t, append([]string{"gateway", "auth"}, services...), append([]testenv.Option{
		testenv.WithEnv("gateway", "AUTH_RATE_LIMIT_BURST=100000", "AUTH_RATE_LIMIT_RPS=100000",
			"RATE_LIMIT_BURST=100000", "RATE_LIMIT_RPS=100000"),
		testenv.WithEnv("auth", "AUTH_ADMIN_EMAIL=root@example.com", "AUTH_ADMIN_PASSWORD="+userAdminPassword)}, opts...)...)
	waitFor(t, "the gateway to hold auth's keys", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/.well-known/jwks.json"}).status == http.StatusOK
	})
	return env
}

// person is one account, logged in through the gateway.
type person struct {
	t     *testing.T
	env   *testenv.Env
	id    string // the account id (the token's sub): also the profile's id
	email string
	token string
	// contract checks every answer; "" is the user service's.
	contract string
}

// against is p with answers checked against another program's contract.
func (p person) against(contract string) person {
	p.contract = contract
	return p
}

// signUp registers email and returns the account, once the gateway accepts
// its token.
func signUp(t *testing.T, env *testenv.Env, email string) person {
	t.Helper()
	a := do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/register", body: jsonOf(map[string]string{"email": email, "password": "correct horse battery staple"}),
		header: map[string]string{"Content-Type": "application/json"}})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	return loggedIn(t, env, email, a.pair(t).AccessToken)
}

func logIn(t *testing.T, env *testenv.Env, email, password string) person {
	t.Helper()
	a := do(t, env, call{method: http.MethodPost, path: "/api/v1/auth/login", body: jsonOf(map[string]string{"email": email, "password": password}),
		header: map[string]string{"Content-Type": "application/json"}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	return loggedIn(t, env, email, a.pair(t).AccessToken)
}

func loggedIn(t *testing.T, env *testenv.Env, email, token string) person {
	t.Helper()
	waitFor(t, "the gateway to accept a new token", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/api/v1/auth/me", header: bearer(token)}).status == http.StatusOK
	})
	return person{t: t, env: env, id: jwtClaim(t, token, "sub"), email: email, token: token}
}

// send makes a call as p through the gateway, checked against the user
// contract; safe from goroutines.
func (p person) send(method, path string, body any, header map[string]string) (answer, error) {
	h := bearer(p.token)
	raw := ""
	switch b := body.(type) {
	case nil:
	case string:
		raw = b
		h["Content-Type"] = "application/json"
	default:
		raw = jsonOf(b)
		h["Content-Type"] = "application/json"
	}
	for k, v := range header {
		h[k] = v
	}
	return send(p.t, p.env, call{method: method, path: "/api/v1" + path, body: raw, header: h, contract: cmp.Or(p.contract, "user")})
}

func (p person) call(method, path string, body any, header ...map[string]string) answer {
	p.t.Helper()
	var h map[string]string
	if len(header) > 0 {
		h = header[0]
	}
	a, err := p.send(method, path, body, h)
	require.NoError(p.t, err)
	return a
}

type profile struct {
	ID, UserID, Name, Email, Phone string
	CreatedAt, UpdatedAt           string
}

type address struct {
	ID, UserID, Street, City, State, Pincode, Country string
	IsDefault                                         bool
	CreatedAt                                         time.Time
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(a.body, &v), "%s", a.body)
	return v
}

func (a answer) message(t *testing.T) string {
	t.Helper()
	return decode[struct{ Error struct{ Message string } }](t, a).Error.Message
}

func profileBody(name, email string) map[string]string {
	return map[string]string{"name": name, "email": email, "phone": "+91 98765 43210"}
}

func addressBody(street string, isDefault any) map[string]any {
	b := map[string]any{"street": street, "city": "Pune", "state": "Maharashtra", "pincode": "411001", "country": "India"}
	if isDefault != nil {
		b["isDefault"] = isDefault
	}
	return b
}

// defaultStreets lists the streets of p's default addresses, and checks the
// list is oldest first.
func defaultStreets(t *testing.T, p person, owner string) []string {
	t.Helper()
	a := p.call(http.MethodGet, "/users/"+owner+"/addresses", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var out []string
	for _, ad := range decode[[]address](t, a) {
		if ad.IsDefault {
			out = append(out, ad.Street)
		}
	}
	return out
}

// TestUserOriginalFlow is the original's documented user flow (§3, §9
// items 30-44), black box through the gateway, with ids from the tokens.
func TestUserOriginalFlow(t *testing.T) {
	env := adminEnv(t, "user")
	john := signUp(t, env, "john@example.com")
	admin := logIn(t, env, "root@example.com", userAdminPassword)

	// 30: create the caller's profile; userId comes from the token.
	a := john.call(http.MethodPost, "/users", map[string]string{"name": "John Doe", "email": "john@example.com", "phone": "+1 (555) 010-0100", "userId": "someone-else"})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	created := decode[profile](t, a)
	assert.Equal(t, john.id, created.ID)
	assert.Equal(t, john.id, created.UserID)
	assert.Equal(t, "John Doe", created.Name)

	// 31, 32, 33.
	a = john.call(http.MethodPost, "/users", profileBody("John", "john@example.com"))
	assert.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, "User profile already exists for userId: "+john.id, a.message(t))
	jane := signUp(t, env, "jane@example.com")
	a = jane.call(http.MethodPost, "/users", profileBody("Jane", "JOHN@example.com"))
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "Email in payload must match token email", a.message(t))
	a = admin.call(http.MethodPost, "/users", profileBody("Root", "John@Example.com"))
	assert.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, "User profile already exists for email: john@example.com", a.message(t), "emails compare without case")

	// 36: get, as the owner and as an admin; another user is refused.
	a = john.call(http.MethodGet, "/users/"+john.id, nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.NotEmpty(t, a.header.Get("ETag"))
	assert.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/users/"+john.id, nil).status)
	a = jane.call(http.MethodGet, "/users/"+john.id, nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "You are not authorized to access this resource", a.message(t))
	a = jane.call(http.MethodGet, "/users/"+jane.id, nil)
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Equal(t, "User profile not found for userId: "+jane.id, a.message(t))

	// 37: update (full replace).
	a = john.call(http.MethodPut, "/users/"+john.id, map[string]string{"name": "John Q. Doe", "email": "john@example.com", "phone": "+1 555 010 0199"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	updated := decode[profile](t, a)
	assert.Equal(t, "John Q. Doe", updated.Name)
	assert.Equal(t, created.CreatedAt, updated.CreatedAt)
	assert.NotEqual(t, created.UpdatedAt, updated.UpdatedAt)
	a = john.call(http.MethodPut, "/users/"+john.id, profileBody("John", "johnny@example.com"))
	assert.Equal(t, http.StatusBadRequest, a.status, "a user keeps their account's email")
	require.Equal(t, http.StatusCreated, jane.call(http.MethodPost, "/users", profileBody("Jane", "jane@example.com")).status)
	a = admin.call(http.MethodPut, "/users/"+john.id, profileBody("John", "jane@example.com"))
	assert.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, "Email already exists: jane@example.com", a.message(t))

	// 34, 35: the admin list; a user may not list.
	a = admin.call(http.MethodGet, "/users?page=0&size=10&sortBy=createdAt&sortDir=desc", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	page := decode[struct {
		Content                               []profile
		Page, Size, TotalElements, TotalPages int
		Last                                  bool
	}](t, a)
	assert.Equal(t, 2, page.TotalElements)
	assert.Equal(t, []string{jane.id, john.id}, []string{page.Content[0].ID, page.Content[1].ID}, "newest first")
	assert.True(t, page.Last)
	a = john.call(http.MethodGet, "/users", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "You are not authorized to access this resource", a.message(t))

	// 39, 40, 41: addresses; the first is the default.
	a = john.call(http.MethodPost, "/users/"+john.id+"/addresses", addressBody("221B Baker Street", nil))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	home := decode[address](t, a)
	assert.True(t, home.IsDefault, "the first address is the default")
	assert.Equal(t, john.id, home.UserID)
	a = john.call(http.MethodPost, "/users/"+john.id+"/addresses", addressBody("10 Downing Street", true))
	require.Equal(t, http.StatusCreated, a.status)
	work := decode[address](t, a)
	assert.Equal(t, []string{"10 Downing Street"}, defaultStreets(t, john, john.id))
	a = jane.call(http.MethodPost, "/users/"+jane.id+"/addresses", addressBody("1 Jane Street", nil))
	require.Equal(t, http.StatusCreated, a.status)
	janes := decode[address](t, a)
	list := decode[[]address](t, john.call(http.MethodGet, "/users/"+john.id+"/addresses", nil))
	assert.Equal(t, []string{home.ID, work.ID}, []string{list[0].ID, list[1].ID}, "oldest first")

	// 42: update; isDefault is required; another user's address is 404.
	a = john.call(http.MethodPut, "/users/"+john.id+"/addresses/"+home.ID, addressBody("221B Baker Street", nil))
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Contains(t, string(a.body), "isDefault is required")
	a = john.call(http.MethodPut, "/users/"+john.id+"/addresses/"+home.ID, addressBody("221B Baker St", true))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, "221B Baker St", decode[address](t, a).Street)
	assert.Equal(t, []string{"221B Baker St"}, defaultStreets(t, john, john.id))
	a = john.call(http.MethodPut, "/users/"+john.id+"/addresses/"+janes.ID, addressBody("mine now", true))
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Equal(t, fmt.Sprintf("Address not found for userId: %s and addressId: %s", john.id, janes.ID), a.message(t))

	// 43: deleting the default promotes the oldest remaining.
	a = john.call(http.MethodDelete, "/users/"+john.id+"/addresses/"+home.ID, nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, `{"message":"Address deleted successfully"}`, string(a.body))
	assert.Equal(t, []string{"10 Downing Street"}, defaultStreets(t, john, john.id))

	// 44: an admin can act on anyone's addresses.
	a = admin.call(http.MethodPost, "/users/"+john.id+"/addresses", addressBody("Admin Road", false))
	require.Equal(t, http.StatusCreated, a.status)

	// 38: delete the profile; its addresses go with it.
	a = john.call(http.MethodDelete, "/users/"+john.id, nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, `{"message":"User profile deleted successfully"}`, string(a.body))
	assert.Equal(t, http.StatusNotFound, john.call(http.MethodGet, "/users/"+john.id, nil).status)
	assert.Equal(t, http.StatusNotFound, john.call(http.MethodGet, "/users/"+john.id+"/addresses", nil).status)
	a = john.call(http.MethodPost, "/users", profileBody("John again", "john@example.com"))
	require.Equal(t, http.StatusCreated, a.status, "the email was freed")
	assert.Empty(t, decode[[]address](t, john.call(http.MethodGet, "/users/"+john.id+"/addresses", nil)), "no address survived the delete")
}

// TestUserAuthorization sweeps every endpoint: a user reaches only their
// own profile and addresses (OWASP API1), a USER cannot list, an admin can
// do everything, and a stranger's 403 does not depend on whether the
// profile exists.
func TestUserAuthorization(t *testing.T) {
	env := adminEnv(t, "user")
	ann, bob := signUp(t, env, "ann@example.com"), signUp(t, env, "bob@example.com")
	admin := logIn(t, env, "root@example.com", userAdminPassword)
	require.Equal(t, http.StatusCreated, ann.call(http.MethodPost, "/users", profileBody("Ann", ann.email)).status)
	a := ann.call(http.MethodPost, "/users/"+ann.id+"/addresses", addressBody("1 Ann Road", nil))
	require.Equal(t, http.StatusCreated, a.status)
	addr := decode[address](t, a).ID
	nobody := "0190f5c2-0000-7000-8000-000000000000"

	endpoints := func(owner string) []struct {
		method, path string
		body         any
	} {
		return []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/users/" + owner, nil},
			{http.MethodPut, "/users/" + owner, profileBody("X", "bob@example.com")},
			{http.MethodGet, "/users/" + owner + "/addresses", nil},
			{http.MethodPost, "/users/" + owner + "/addresses", addressBody("x", true)},
			{http.MethodPut, "/users/" + owner + "/addresses/" + addr, addressBody("x", true)},
			{http.MethodDelete, "/users/" + owner + "/addresses/" + addr, nil},
			{http.MethodDelete, "/users/" + owner, nil},
		}
	}
	for _, owner := range []string{ann.id, nobody, "not-a-uuid"} {
		for _, e := range endpoints(owner) {
			a := bob.call(e.method, e.path, e.body)
			assert.Equal(t, http.StatusForbidden, a.status, "bob %s %s: %s", e.method, e.path, a.body)
			assert.Equal(t, "FORBIDDEN", a.errorCode(t))
		}
	}
	assert.Equal(t, http.StatusForbidden, bob.call(http.MethodGet, "/users?q=ann", nil).status)
	assert.Equal(t, http.StatusForbidden, bob.call(http.MethodGet, "/users?sortBy=nonsense", nil).status, "a non-admin learns nothing about the parameters")

	// Nothing of Ann's changed.
	a = ann.call(http.MethodGet, "/users/"+ann.id, nil)
	assert.Equal(t, "Ann", decode[profile](t, a).Name)
	assert.Equal(t, []string{"1 Ann Road"}, defaultStreets(t, ann, ann.id))

	// Without a token the gateway refuses; a forged caller header is not one.
	a = do(t, env, call{method: http.MethodGet, path: "/api/v1/users/" + ann.id, header: map[string]string{"X-User-Id": ann.id, "X-User-Role": "ADMIN"}})
	assert.Equal(t, http.StatusUnauthorized, a.status)
	a = bob.call(http.MethodGet, "/users/"+ann.id, nil, map[string]string{"X-User-Id": ann.id, "X-User-Role": "ADMIN"})
	assert.Equal(t, http.StatusForbidden, a.status, "the gateway replaces caller headers with the token's")

	// An admin does everything, on anyone's profile.
	for _, e := range endpoints(ann.id) {
		a := admin.call(e.method, e.path, e.body)
		assert.Less(t, a.status, 300, "admin %s %s: %s", e.method, e.path, a.body)
	}
	a = admin.call(http.MethodGet, "/users/not-a-uuid", nil)
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t))
	assert.Equal(t, http.StatusNotFound, admin.call(http.MethodGet, "/users/"+nobody, nil).status)
}

// TestUserBadInput: every malformed request is a 4xx in the envelope, with
// the field named; nothing is written.
func TestUserBadInput(t *testing.T) {
	env := adminEnv(t, "user")
	ann := signUp(t, env, "ann@example.com")
	admin := logIn(t, env, "root@example.com", userAdminPassword)
	profiles := "/users"
	addresses := "/users/" + ann.id + "/addresses"

	fieldCases := []struct {
		path, body, field, message string
	}{
		{profiles, `{"email":"ann@example.com","phone":"5550100100"}`, "name", "name is required"},
		{profiles, `{"name":"` + strings.Repeat("n", 121) + `","email":"ann@example.com","phone":"5550100100"}`, "name", "name must be at most 120 characters"},
		{profiles, `{"name":"Ann","email":"not an email","phone":"5550100100"}`, "email", "email must be valid"},
		{profiles, `{"name":"Ann","email":"ann@example.com"}`, "phone", "phone is required"},
		{profiles, `{"name":"Ann","email":"ann@example.com","phone":"call me"}`, "phone", "phone must be a valid number"},
		{profiles, `{"name":"Ann","email":"ann@example.com","phone":12345678}`, "phone", "phone must be a string"},
		{profiles, `{"name":"A\u0000nn","email":"ann@example.com","phone":"5550100100"}`, "name", "name must not contain control characters"},
	}
	for _, c := range fieldCases {
		a := ann.call(http.MethodPost, c.path, c.body)
		assert.Equal(t, http.StatusBadRequest, a.status, c.body)
		assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), c.body)
		details := decode[struct {
			Error struct{ Details map[string]string }
		}](t, a).Error.Details
		assert.Equal(t, c.message, details[c.field], c.body)
	}
	for _, body := range []string{`{"name":`, `[]`, `"x"`, ``, `{"name":"Ann"`} {
		a := ann.call(http.MethodPost, profiles, body)
		assert.Equal(t, http.StatusBadRequest, a.status, "%q", body)
		assert.Equal(t, "BAD_REQUEST", a.errorCode(t), "%q", body)
	}
	a := ann.call(http.MethodPost, profiles, `null`)
	assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), "null is an object with no fields")
	a = ann.call(http.MethodPost, profiles, `{"name":"`+strings.Repeat("x", 2<<20)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	assert.Equal(t, http.StatusNotFound, ann.call(http.MethodGet, "/users/"+ann.id, nil).status, "nothing was created")

	require.Equal(t, http.StatusCreated, ann.call(http.MethodPost, profiles, profileBody("Ann", ann.email)).status)
	for field, limit := range map[string]int{"street": 255, "city": 120, "state": 120, "pincode": 20, "country": 120} {
		b := addressBody("x", nil)
		b[field] = strings.Repeat("9", limit+1)
		a := ann.call(http.MethodPost, addresses, b)
		assert.Equal(t, http.StatusBadRequest, a.status, field)
		assert.Contains(t, string(a.body), fmt.Sprintf("%s must be at most %d characters", field, limit))
		b[field] = "  "
		assert.Contains(t, string(ann.call(http.MethodPost, addresses, b).body), field+" is required")
	}
	a = ann.call(http.MethodPost, addresses, `{"street":"x","city":"y","state":"z","pincode":"1","country":"c","isDefault":"yes"}`)
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Contains(t, string(a.body), "isDefault must be a boolean")
	assert.Empty(t, decode[[]address](t, ann.call(http.MethodGet, addresses, nil)), "nothing was stored")

	for _, q := range []string{"page=-1", "page=x", "size=0", "size=101", "size=1e2", "sortBy=password", "sortBy=name;drop", "sortDir=up", "q=%00"} {
		a := admin.call(http.MethodGet, "/users?"+q, nil)
		assert.Equal(t, http.StatusBadRequest, a.status, q)
		assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), q)
	}
	for _, q := range []string{"q=%25", "q=_", "q=%5C", "q=" + strings.Repeat("a", 254), "sortDir=ASC", "page=1000000"} {
		a := admin.call(http.MethodGet, "/users?"+q, nil)
		assert.Equal(t, http.StatusOK, a.status, "%s: %s", q, a.body)
	}
	a = admin.call(http.MethodGet, "/users?q=%25", nil)
	assert.Contains(t, string(a.body), `"totalElements":0`, "%% is literal, not a wildcard")
}

// TestUserNoLostUpdates: ETag and If-Match, and concurrent writes without
// them that each land.
func TestUserNoLostUpdates(t *testing.T) {
	env := adminEnv(t, "user")
	ann := signUp(t, env, "ann@example.com")
	require.Equal(t, http.StatusCreated, ann.call(http.MethodPost, "/users", profileBody("Ann", ann.email)).status)
	path := "/users/" + ann.id

	t.Run("a stale If-Match is 412 and writes nothing", func(t *testing.T) {
		etag := ann.call(http.MethodGet, path, nil).header.Get("ETag")
		require.NotEmpty(t, etag)
		a := ann.call(http.MethodPut, path, profileBody("Ann B", ann.email), map[string]string{"If-Match": etag})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPut, path, profileBody("Ann C", ann.email)},
			{http.MethodPost, path + "/addresses", addressBody("x", nil)},
			{http.MethodDelete, path, nil},
		} {
			a := ann.call(req.method, req.path, req.body, map[string]string{"If-Match": etag})
			assert.Equal(t, http.StatusPreconditionFailed, a.status, "%s %s: %s", req.method, req.path, a.body)
			assert.Equal(t, "PRECONDITION_FAILED", a.errorCode(t))
		}
		a = ann.call(http.MethodGet, path, nil)
		assert.Equal(t, "Ann B", decode[profile](t, a).Name)
		current := a.header.Get("ETag")
		assert.NotEqual(t, etag, current)
		assert.Equal(t, http.StatusPreconditionFailed, ann.call(http.MethodPut, path, profileBody("W", ann.email), map[string]string{"If-Match": "W/" + current}).status, "a weak tag never matches")
		assert.Equal(t, http.StatusOK, ann.call(http.MethodPut, path, profileBody("Ann D", ann.email), map[string]string{"If-Match": `"nope", ` + current}).status)
		assert.Equal(t, http.StatusOK, ann.call(http.MethodPut, path, profileBody("Ann E", ann.email), map[string]string{"If-Match": "*"}).status)
	})

	t.Run("30 concurrent address creations: 20 stored, 10 refused, one default", func(t *testing.T) {
		answers := concurrently(t, 30, func(i int) (answer, error) {
			return ann.send(http.MethodPost, path+"/addresses", addressBody(fmt.Sprintf("%d Concurrent Street", i), i%4 == 0), nil)
		})
		counts := statusCounts(answers)
		assert.Equal(t, map[int]int{http.StatusCreated: 20, http.StatusConflict: 10}, counts)
		for _, a := range answers {
			if a.status == http.StatusConflict {
				assert.Equal(t, "ADDRESS_LIMIT_REACHED", a.errorCode(t))
			}
		}
		list := decode[[]address](t, ann.call(http.MethodGet, path+"/addresses", nil))
		assert.Len(t, list, 20)
		defaults := 0
		var created []string
		for _, a := range answers {
			if a.status == http.StatusCreated {
				created = append(created, decode[address](t, a).ID)
			}
		}
		var stored []string
		for _, a := range list {
			stored = append(stored, a.ID)
			if a.IsDefault {
				defaults++
			}
		}
		assert.Equal(t, 1, defaults)
		assert.ElementsMatch(t, created, stored, "every acknowledged address is stored, and nothing else")
		assert.True(t, slices.IsSortedFunc(list, func(a, b address) int { return a.CreatedAt.Compare(b.CreatedAt) }), "oldest first")
	})

	t.Run("concurrent profile and address writes from two replicas all land", func(t *testing.T) {
		env.AddReplica("user", "2")
		bob := signUp(t, env, "bob@example.com")
		require.Equal(t, http.StatusCreated, bob.call(http.MethodPost, "/users", profileBody("Bob", bob.email)).status)
		answers := concurrently(t, 16, func(i int) (answer, error) {
			if i%2 == 0 {
				return bob.send(http.MethodPut, "/users/"+bob.id, profileBody(fmt.Sprintf("Bob %d", i), bob.email), nil)
			}
			return bob.send(http.MethodPost, "/users/"+bob.id+"/addresses", addressBody(fmt.Sprint(i), nil), nil)
		})
		assert.Equal(t, map[int]int{http.StatusOK: 8, http.StatusCreated: 8}, statusCounts(answers))
		list := decode[[]address](t, bob.call(http.MethodGet, "/users/"+bob.id+"/addresses", nil))
		assert.Len(t, list, 8, "no address write was lost to a profile write")
		assert.Equal(t, 1, len(slices.DeleteFunc(list, func(a address) bool { return !a.IsDefault })))
	})

	t.Run("two concurrent creates with one email: one profile", func(t *testing.T) {
		admins := []person{logIn(t, env, "root@example.com", userAdminPassword)}
		cara := signUp(t, env, "cara@example.com")
		admins = append(admins, cara)
		answers := concurrently(t, 2, func(i int) (answer, error) {
			return admins[i].send(http.MethodPost, "/users", profileBody("Cara", "cara@example.com"), nil)
		})
		assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: 1}, statusCounts(answers))
	})
}

// TestUserListing: sort orders, paging without overlap, and prefix search
// on name or email.
func TestUserListing(t *testing.T) {
	env := adminEnv(t, "user")
	admin := logIn(t, env, "root@example.com", userAdminPassword)
	names := []string{"carol", "Alice", "bob", "Dave", "alfred"}
	for _, n := range names {
		p := signUp(t, env, strings.ToLower(n)+"@example.com")
		require.Equal(t, http.StatusCreated, p.call(http.MethodPost, "/users", profileBody(n, p.email)).status)
	}
	list := func(query string) (out []string, total int) {
		a := admin.call(http.MethodGet, "/users?"+query, nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		page := decode[struct {
			Content       []profile
			TotalElements int
		}](t, a)
		for _, p := range page.Content {
			out = append(out, p.Name)
		}
		return out, page.TotalElements
	}
	got, total := list("sortBy=name&sortDir=asc&size=100")
	assert.Equal(t, []string{"alfred", "Alice", "bob", "carol", "Dave"}, got, "names sort without case")
	assert.Equal(t, 5, total)
	got, _ = list("sortBy=email&sortDir=desc")
	assert.Equal(t, []string{"Dave", "carol", "bob", "Alice", "alfred"}, got)
	got, _ = list("sortBy=createdAt&sortDir=asc")
	assert.Equal(t, names, got)

	var paged []string
	for page := 0; page < 3; page++ {
		got, total := list(fmt.Sprintf("sortBy=name&sortDir=asc&size=2&page=%d", page))
		assert.Equal(t, 5, total)
		paged = append(paged, got...)
	}
	assert.Equal(t, []string{"alfred", "Alice", "bob", "carol", "Dave"}, paged, "pages neither overlap nor skip")

	got, total = list("q=AL&sortBy=name&sortDir=asc")
	assert.Equal(t, []string{"alfred", "Alice"}, got)
	assert.Equal(t, 2, total)
	got, _ = list("q=dave@")
	assert.Equal(t, []string{"Dave"}, got, "matches an email prefix")
	got, _ = list("q=ice")
	assert.Empty(t, got, "a prefix, not a substring")
}
