package domain

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/gateway/identity"
	"github.com/qeetmart/qeetmart/internal/authtoken"
)

var cfg = TokenConfig{Issuer: "qeetmart-auth", Audience: "qeetmart", AccessTTL: 15 * time.Minute, RefreshTTL: 7 * 24 * time.Hour, AbsoluteTTL: 30 * 24 * time.Hour}

var ann = User{ID: "0190-ann", Email: "ann@example.com", Role: RoleUser}

func TestKeyRingRotation(t *testing.T) {
	t0 := time.Now()
	var ring KeyRing
	_, err := ring.Active(t0)
	assert.ErrorIs(t, err, ErrNoSigningKey)

	first, err := ring.Rotate(t0, 0)
	require.NoError(t, err)
	rotated := t0.Add(time.Hour)
	second, err := ring.Rotate(rotated, 30*time.Second)
	require.NoError(t, err)
	assert.NotEqual(t, first.KID, second.KID)
	assert.Len(t, ring.JWKS().Keys, 2, "the new key is published at once")

	active, err := ring.Active(rotated.Add(29 * time.Second))
	require.NoError(t, err)
	assert.Equal(t, first.KID, active.KID, "the old key signs until the new one is active")
	active, err = ring.Active(rotated.Add(30 * time.Second))
	require.NoError(t, err)
	assert.Equal(t, second.KID, active.KID, "then new tokens use the new key")

	ring.Prune(rotated.Add(30*time.Second+10*time.Minute), 15*time.Minute)
	assert.Len(t, ring.Keys, 2, "tokens of the old key may still be alive")
	ring.Prune(rotated.Add(30*time.Second+16*time.Minute), 15*time.Minute)
	require.Len(t, ring.Keys, 1)
	assert.Equal(t, second.KID, ring.Keys[0].KID)

	for _, k := range ring.JWKS().Keys {
		assert.True(t, k.IsPublic(), "never private material")
	}
}

// newRing is a ring with one key, active from now.
func newRing(t *testing.T, now time.Time) (KeyRing, SigningKey) {
	t.Helper()
	var ring KeyRing
	key, err := ring.Rotate(now, 0)
	require.NoError(t, err)
	return ring, key
}

// sign makes a token of typ for ann in session s1.
func sign(t *testing.T, key SigningKey, typ string, issued, expires time.Time) Issued {
	t.Helper()
	tok, err := cfg.Sign(key, ann, "s1", typ, issued, expires)
	require.NoError(t, err)
	return tok
}

type ringSource struct{ ring *KeyRing }

func (s ringSource) FetchJWKS(context.Context) (jose.JSONWebKeySet, error) { return s.ring.JWKS(), nil }

// The contract with the gateway: what auth signs, the gateway accepts as an
// access token and as nothing else.
func TestGatewayAcceptsAuthsAccessTokens(t *testing.T) {
	now := time.Now()
	ring, key := newRing(t, now)
	access := sign(t, key, authtoken.TypeAccess, now, now.Add(cfg.AccessTTL))
	refresh := sign(t, key, authtoken.TypeRefresh, now, now.Add(cfg.RefreshTTL))

	keys := identity.NewKeys(ringSource{&ring}, time.Minute)
	require.NoError(t, keys.Refresh(context.Background()))
	v := identity.NewVerifier(keys, identity.NewRevocations(), cfg.Issuer, cfg.Audience, 0)

	id, err := v.Verify(context.Background(), access.Token)
	require.NoError(t, err)
	assert.Equal(t, identity.Identity{UserID: ann.ID, SessionID: "s1", Email: ann.Email, Role: RoleUser}, id)
	_, err = v.Verify(context.Background(), refresh.Token)
	assert.ErrorIs(t, err, identity.ErrNotAccess)
}

func TestParseRefresh(t *testing.T) {
	now := time.Now()
	ring, key := newRing(t, now)
	_, otherKey := newRing(t, now)
	refresh := sign(t, key, authtoken.TypeRefresh, now, now.Add(cfg.RefreshTTL))
	access := sign(t, key, authtoken.TypeAccess, now, now.Add(cfg.AccessTTL))
	foreign := sign(t, otherKey, authtoken.TypeRefresh, now, now.Add(cfg.RefreshTTL))
	expired := sign(t, key, authtoken.TypeRefresh, now.Add(-8*24*time.Hour), now.Add(-time.Hour))

	claims, err := cfg.ParseRefresh(refresh.Token, ring, now)
	require.NoError(t, err)
	assert.Equal(t, "s1", claims.SessionID)
	assert.Equal(t, refresh.ID, claims.ID)
	assert.Equal(t, ann.ID, claims.Subject)

	for name, token := range map[string]string{
		"access token as refresh": access.Token,
		"another key":             foreign.Token,
		"expired":                 expired.Token,
		"garbage":                 "a.b.c",
		"empty":                   "",
	} {
		_, err := cfg.ParseRefresh(token, ring, now)
		assert.ErrorIs(t, err, ErrInvalidRefresh, name)
	}
}

func TestSessionRotation(t *testing.T) {
	t0 := time.Now()
	s := NewSession("s1", "u1", "curl/8", "203.0.113.7", "jti-1", t0, cfg)
	assert.Equal(t, t0.Add(cfg.RefreshTTL), s.ExpiresAt)

	t1 := t0.Add(24 * time.Hour)
	require.NoError(t, s.Rotate("jti-1", "jti-2", t1, cfg))
	assert.Equal(t, t1, s.LastUsedAt)
	assert.Equal(t, t1.Add(cfg.RefreshTTL), s.ExpiresAt, "sliding")
	assert.NotContains(t, s.RefreshHash, "jti-2", "only a hash is kept")

	// The spent token comes back (a thief, or a replay): the caller is told
	// to end the session, and nothing about the session changes.
	before := *s
	err := s.Rotate("jti-1", "jti-x", t1.Add(time.Minute), cfg)
	assert.ErrorIs(t, err, ErrRefreshReused)
	assert.Equal(t, before, *s)
}

func TestSessionLimits(t *testing.T) {
	t0 := time.Now()
	idle := NewSession("s1", "u1", "", "", "a", t0, cfg)
	assert.ErrorIs(t, idle.Rotate("a", "b", t0.Add(cfg.RefreshTTL+time.Second), cfg), ErrSessionExpired, "unused for longer than the sliding TTL")

	busy := NewSession("s2", "u1", "", "", "j0", t0, cfg)
	jti := "j0"
	for day := 6; day < 30; day += 6 {
		next := jti + "+"
		require.NoError(t, busy.Rotate(jti, next, t0.Add(time.Duration(day)*24*time.Hour), cfg))
		jti = next
	}
	assert.Equal(t, t0.Add(cfg.AbsoluteTTL), busy.ExpiresAt, "sliding never passes the absolute limit")
	assert.ErrorIs(t, busy.Rotate(jti, "z", t0.Add(cfg.AbsoluteTTL+time.Second), cfg), ErrSessionExpired)
}
