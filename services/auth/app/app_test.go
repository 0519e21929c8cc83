package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

const password = "correct horse battery staple"

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newAuth is an Auth on an in-memory store, a fixed clock and a cheap hash
// (the cost is the domain's business; the rules are tested here).
func newAuth(t *testing.T) (*Auth, *memStore, *clock) {
	t.Helper()
	store := newMemStore()
	cheap := domain.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	a := New(store, domain.TokenConfig{Issuer: "i", Audience: "a", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour, AbsoluteTTL: 24 * time.Hour},
		domain.Hasher{Params: cheap})
	c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 500_000_000, time.UTC)}
	a.Now = c.now
	require.NoError(t, a.EnsureKeys(t.Context()))
	return a, store, c
}

func register(t *testing.T, a *Auth, email string) Caller {
	t.Helper()
	_, err := a.Register(t.Context(), email, password, Client{})
	require.NoError(t, err)
	u, found, err := a.Store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	require.True(t, found)
	return Caller{UserID: u.ID}
}

func TestLoginThrottlesPerAccountAndAddress(t *testing.T) {
	a, store, clk := newAuth(t)
	ctx := t.Context()
	register(t, a, "ann@example.com")
	a.AccountThrottle = domain.ThrottlePolicy{Threshold: 3, Base: time.Second, Max: 4 * time.Second, Window: time.Minute}
	a.AddressThrottle = domain.ThrottlePolicy{Threshold: 5, Base: time.Second, Max: time.Minute, Window: time.Minute}
	var locks []string
	a.Locked = func(scope string) { locks = append(locks, scope) }

	for range 3 {
		_, err := a.Login(ctx, "ann@example.com", "wrong", Client{IP: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials)
	}
	_, err := a.Login(ctx, "ann@example.com", password, Client{IP: "192.0.2.2"})
	var throttled ThrottledError
	require.ErrorAs(t, err, &throttled, "locked for every address, even with the right password")
	assert.Equal(t, time.Second, throttled.RetryAfter)

	clk.advance(time.Second)
	_, err = a.Login(ctx, "ann@example.com", password, Client{IP: "192.0.2.2"})
	require.NoError(t, err, "the lock ends")
	assert.NotContains(t, store.throttles, "account:ann@example.com", "a success forgets the account's failures")
	assert.Equal(t, 3, store.throttles["ip:192.0.2.1"].Failures, "but not the address's")

	// Two more failures from 192.0.2.1 on other accounts lock that address.
	for _, email := range []string{"x@example.com", "y@example.com"} {
		_, err := a.Login(ctx, email, "wrong", Client{IP: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials)
	}
	_, err = a.Login(ctx, "ann@example.com", password, Client{IP: "192.0.2.1"})
	require.ErrorAs(t, err, &throttled)
	_, err = a.Login(ctx, "ann@example.com", password, Client{IP: "192.0.2.3"})
	require.NoError(t, err, "other addresses are not affected")
	assert.Equal(t, []string{"account", "address"}, locks, "each lock is heard once, with its scope")
}

func TestChangePasswordEndsOnlyOtherSessions(t *testing.T) {
	a, store, _ := newAuth(t)
	ctx := t.Context()
	me := register(t, a, "ann@example.com")
	_, err := a.Login(ctx, "ann@example.com", password, Client{})
	require.NoError(t, err)
	sessions, err := store.SessionsOf(ctx, me.UserID)
	require.NoError(t, err)
	require.Len(t, sessions, 2)
	me.SessionID = sessions[0].ID
	other := sessions[1].ID

	tests := []struct {
		name, old, new string
		want           error
	}{
		{"wrong old password", "nope", "a new passphrase", ErrWrongPassword},
		{"same as old", password, password, ErrSamePassword},
		{"common password", password, "password1", validation.Errors{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.ChangePassword(ctx, me, tt.old, tt.new)
			if _, fields := tt.want.(validation.Errors); fields {
				assert.ErrorAs(t, err, new(validation.Errors))
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Empty(t, store.published, "nothing ends on a refused change")
		})
	}

	require.NoError(t, a.ChangePassword(ctx, me, password, "a new passphrase"))
	require.Len(t, store.published, 1)
	assert.Equal(t, []string{other}, store.published[0].SessionIDs, "the other session ends")
	assert.Empty(t, store.published[0].UserID, "not a user-wide cut-off: the caller's tokens stay valid")
	assert.Contains(t, store.sessions, me.SessionID)
	_, err = a.Login(ctx, "ann@example.com", "a new passphrase", Client{})
	assert.NoError(t, err)
}

func TestRevocationCoversEveryLiveAccessToken(t *testing.T) {
	a, _, clk := newAuth(t)
	r := a.revocation([]string{"s1"}, "u1")
	assert.Equal(t, clk.t.Truncate(time.Second), r.NotBefore, "whole seconds, like iat")
	assert.Equal(t, clk.t.Add(15*time.Minute+time.Minute), r.ExpiresAt, "access TTL plus the verifiers' largest leeway")
}

func TestAdminRules(t *testing.T) {
	a, store, _ := newAuth(t)
	ctx := context.Background()
	require.NoError(t, a.EnsureAdmin(ctx, "root@example.com", "an admin passphrase"))
	root, _, err := store.UserByEmail(ctx, "root@example.com")
	require.NoError(t, err)
	admin := Caller{UserID: root.ID}
	ann := register(t, a, "ann@example.com")
	register(t, a, "bob@example.com")

	_, err = a.Users(ctx, ann, paging.Request{Page: 0, Size: 10})
	assert.ErrorIs(t, err, ErrForbidden)

	page, err := a.Users(ctx, admin, paging.Request{Page: 1, Size: 2})
	require.NoError(t, err)
	assert.Equal(t, paging.Page[domain.User]{Content: page.Content, Page: 1, Size: 2, TotalElements: 3, TotalPages: 2, Last: true}, page)
	assert.Len(t, page.Content, 1)

	_, err = a.SetRole(ctx, admin, admin.UserID, domain.RoleUser)
	assert.ErrorIs(t, err, ErrOwnAccount)
	_, err = a.SetDisabled(ctx, admin, admin.UserID, true)
	assert.ErrorIs(t, err, ErrOwnAccount)
	_, err = a.SetRole(ctx, admin, ann.UserID, "ROOT")
	assert.ErrorAs(t, err, new(validation.Errors))

	u, err := a.SetDisabled(ctx, admin, ann.UserID, true)
	require.NoError(t, err)
	assert.True(t, u.Disabled)
	require.Len(t, store.published, 1)
	assert.Equal(t, ann.UserID, store.published[0].UserID, "every token of the user is cut off")
	_, err = a.Login(ctx, "ann@example.com", password, Client{})
	assert.ErrorIs(t, err, ErrInvalidCredentials)

	_, err = a.SetDisabled(ctx, admin, ann.UserID, false)
	require.NoError(t, err)
	assert.Len(t, store.published, 1, "enabling revokes nothing")
	_, err = a.Login(ctx, "ann@example.com", password, Client{})
	assert.NoError(t, err)

	// A demoted admin loses the power at once, whatever their token says.
	_, err = a.SetRole(ctx, admin, ann.UserID, domain.RoleAdmin)
	require.NoError(t, err)
	_, err = a.SetRole(ctx, ann, admin.UserID, domain.RoleUser)
	require.NoError(t, err, "ann, now an admin, demotes root")
	_, err = a.Users(ctx, admin, paging.Request{Page: 0, Size: 10})
	assert.ErrorIs(t, err, ErrForbidden)
}

func TestKeyRotationPublishesBeforeSigning(t *testing.T) {
	a, store, clk := newAuth(t)
	admin := Caller{UserID: "root"}
	store.users["root"] = domain.User{ID: "root", Role: domain.RoleAdmin}
	before, err := store.ring.Active(clk.t)
	require.NoError(t, err)

	key, err := a.RotateKeys(t.Context(), admin)
	require.NoError(t, err)
	assert.Equal(t, clk.t.Add(a.KeyActivationDelay), key.ActiveFrom)
	active, err := store.ring.Active(clk.t)
	require.NoError(t, err)
	assert.Equal(t, before.KID, active.KID, "the old key signs until the new one's time")
	clk.advance(a.KeyActivationDelay)
	active, err = store.ring.Active(clk.t)
	require.NoError(t, err)
	assert.Equal(t, key.KID, active.KID)
}
