package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// fakeSource serves a JWKS document, or fails when down.
type fakeSource struct {
	jwks    atomic.Value // []byte
	down    atomic.Bool
	fetches atomic.Int32
	hold    chan struct{} // when set, a fetch waits until it is closed
}

func (f *fakeSource) FetchJWKS(context.Context) (jose.JSONWebKeySet, error) {
	f.fetches.Add(1)
	if f.hold != nil {
		<-f.hold
	}
	var set jose.JSONWebKeySet
	if f.down.Load() {
		return set, errors.New("auth is down")
	}
	err := json.Unmarshal(f.jwks.Load().([]byte), &set)
	return set, err
}

func newSource(signers ...*testjwt.Signer) *fakeSource {
	f := &fakeSource{}
	f.jwks.Store(testjwt.JWKS(signers...))
	return f
}

func with(claims jwt.MapClaims, k string, v any) jwt.MapClaims {
	c := jwt.MapClaims{}
	for key, val := range claims {
		c[key] = val
	}
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestVerify(t *testing.T) {
	signer := testjwt.NewSigner("k1")
	stranger := testjwt.NewSigner("k1") // same kid, other key
	other := testjwt.NewSigner("k-unknown")
	keys := NewKeys(newSource(signer), time.Hour)
	require.NoError(t, keys.Refresh(context.Background()))
	v := NewVerifier(keys, NewRevocations(), testjwt.Issuer, testjwt.Audience, 60*time.Second)

	valid := testjwt.Claims("u1", "s1")
	now := time.Now()
	tests := []struct {
		name    string
		token   string
		wantErr bool
	}{
		{"valid access token", signer.Sign(valid), false},
		{"alg none", signer.AlgNone(valid), true},
		{"HS256 signed with the public key", signer.HS256WithPublicKey(valid), true},
		{"tampered payload", testjwt.Tampered(signer.Sign(valid)), true},
		{"signed by another key with our kid", stranger.Sign(valid), true},
		{"unknown kid", other.Sign(valid), true},
		{"expired", signer.Sign(with(valid, "exp", now.Add(-2*time.Minute).Unix())), true},
		{"expired within leeway", signer.Sign(with(valid, "exp", now.Add(-30*time.Second).Unix())), false},
		{"no exp", signer.Sign(with(valid, "exp", nil)), true},
		{"not yet valid", signer.Sign(with(valid, "nbf", now.Add(5*time.Minute).Unix())), true},
		{"wrong audience", signer.Sign(with(valid, "aud", "someone-else")), true},
		{"no audience", signer.Sign(with(valid, "aud", nil)), true},
		{"wrong issuer", signer.Sign(with(valid, "iss", "evil")), true},
		{"refresh token as bearer", signer.Sign(with(valid, "typ", "refresh")), true},
		{"no typ", signer.Sign(with(valid, "typ", nil)), true},
		{"no subject", signer.Sign(with(valid, "sub", nil)), true},
		{"garbage", "not.a.token", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tt.token)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Identity{UserID: "u1", SessionID: "s1", Email: "u1@example.com", Role: "USER"}, id)
		})
	}
}

func TestUnknownKidRefetchesOncePerCooldown(t *testing.T) {
	old, rotated := testjwt.NewSigner("old"), testjwt.NewSigner("new")
	src := newSource(old)
	keys := NewKeys(src, time.Hour)
	clock := time.Now()
	keys.now = func() time.Time { return clock }
	require.NoError(t, keys.Refresh(context.Background()))
	v := NewVerifier(keys, NewRevocations(), testjwt.Issuer, testjwt.Audience, 0)

	// Auth rotates: the first token with the new kid is accepted after a
	// refetch, although the cooldown has not passed since start-up.
	clock = clock.Add(2 * time.Hour)
	src.jwks.Store(testjwt.JWKS(old, rotated))
	_, err := v.Verify(context.Background(), rotated.Access("u", "s"))
	require.NoError(t, err)
	assert.EqualValues(t, 2, src.fetches.Load())

	// Forged kids within the cooldown cause no further fetches.
	forger := testjwt.NewSigner("forged")
	for range 50 {
		_, err := v.Verify(context.Background(), forger.Access("u", "s"))
		require.ErrorIs(t, err, ErrUnknownKey)
	}
	assert.EqualValues(t, 2, src.fetches.Load(), "no fetch within the cooldown of the last one")

	clock = clock.Add(2 * time.Hour)
	_, err = v.Verify(context.Background(), forger.Access("u", "s"))
	require.ErrorIs(t, err, ErrUnknownKey)
	assert.EqualValues(t, 3, src.fetches.Load(), "after the cooldown, one more try")
}

func TestAuthDownKeepsCachedKeys(t *testing.T) {
	signer := testjwt.NewSigner("k1")
	src := newSource(signer)
	keys := NewKeys(src, 0)
	require.NoError(t, keys.Refresh(context.Background()))
	src.down.Store(true)
	require.Error(t, keys.Refresh(context.Background()))

	v := NewVerifier(keys, NewRevocations(), testjwt.Issuer, testjwt.Audience, 0)
	_, err := v.Verify(context.Background(), signer.Access("u", "s"))
	assert.NoError(t, err)
	assert.Equal(t, 1, keys.Len())
}

func TestKeysIgnoreUnusableKeys(t *testing.T) {
	src := &fakeSource{}
	src.jwks.Store([]byte(`{"keys":[{"kty":"oct","kid":"sym","k":"c2VjcmV0"}]}`))
	err := NewKeys(src, 0).Refresh(context.Background())
	assert.ErrorContains(t, err, "no usable")
}

func TestRevocations(t *testing.T) {
	clock := time.Now()
	l := NewRevocations()
	l.now = func() time.Time { return clock }
	later := clock.Add(15 * time.Minute)

	l.Apply(Revocation{SessionIDs: []string{"s1"}, ExpiresAt: later})
	l.Apply(Revocation{UserID: "u2", NotBefore: clock, ExpiresAt: later})
	l.Apply(Revocation{SessionIDs: []string{"s9"}, ExpiresAt: clock.Add(-time.Second)}) // already void

	tests := []struct {
		name          string
		user, session string
		issued        time.Time
		want          bool
	}{
		{"revoked session", "u1", "s1", clock.Add(-time.Minute), true},
		{"other session of the same user", "u1", "s2", clock.Add(-time.Minute), false},
		{"user-wide, token issued before", "u2", "s3", clock.Add(-time.Minute), true},
		{"user-wide, token issued after (a new login)", "u2", "s4", clock.Add(time.Second), false},
		{"expired entry never applied", "u9", "s9", clock.Add(-time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, l.Revoked(tt.user, tt.session, tt.issued))
		})
	}

	clock = later.Add(time.Second)
	assert.False(t, l.Revoked("u1", "s1", clock.Add(-time.Hour)), "entries lapse with the tokens they void")
	l.Sweep()
	assert.Empty(t, l.sessions)
	assert.Empty(t, l.users)
}

// verifierOver is a verifier holding signer's key, over revs.
func verifierOver(t *testing.T, signer *testjwt.Signer, revs *Revocations) *Verifier {
	t.Helper()
	keys := NewKeys(newSource(signer), time.Hour)
	require.NoError(t, keys.Refresh(context.Background()))
	return NewVerifier(keys, revs, testjwt.Issuer, testjwt.Audience, 0)
}

func TestVerifyRejectsRevokedTokens(t *testing.T) {
	signer := testjwt.NewSigner("k1")
	revs := NewRevocations()
	v := verifierOver(t, signer, revs)
	token := signer.Access("u1", "s1")
	_, err := v.Verify(context.Background(), token)
	require.NoError(t, err)

	revs.Apply(Revocation{SessionIDs: []string{"s1"}, ExpiresAt: time.Now().Add(time.Hour)})
	_, err = v.Verify(context.Background(), token)
	assert.ErrorIs(t, err, ErrRevoked)
}

// A replica that starts afresh accepts no token until it has read the
// revocations in force: one revoked before it began must not slip through.
func TestAReplicaCatchesUpBeforeAcceptingTokens(t *testing.T) {
	signer := testjwt.NewSigner("k1")
	revs := NewRevocationsToCatchUp()
	v := verifierOver(t, signer, revs)
	revoked, kept := signer.Access("u1", "s1"), signer.Access("u2", "s2")
	_, err := v.Verify(context.Background(), kept)
	require.ErrorIs(t, err, ErrNotReady)

	revs.CatchUp([]Revocation{{SessionIDs: []string{"s1"}, ExpiresAt: time.Now().Add(time.Hour)}})
	_, err = v.Verify(context.Background(), revoked)
	assert.ErrorIs(t, err, ErrRevoked)
	_, err = v.Verify(context.Background(), kept)
	assert.NoError(t, err)
}

// Many tokens with unknown kids arriving together (a rotation, or an
// attacker's forged kids) cause one JWKS fetch, not one each.
func TestUnknownKidRefetchIsSingleFlight(t *testing.T) {
	src := newSource(testjwt.NewSigner("k1"))
	// No cooldown: only the single flight keeps the callers to one fetch.
	keys := NewKeys(src, 0)
	src.hold = make(chan struct{})
	const n = 20
	var started, done sync.WaitGroup
	barrier := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Go(func() {
			started.Done()
			<-barrier // all at once, as a burst of requests would
			_, _, errs[i] = keys.Lookup(context.Background(), fmt.Sprintf("unknown-%d", i))
		})
	}
	started.Wait()
	close(barrier)
	// Every caller is on its way into Lookup; give them a moment to join
	// the fetch in flight before it returns.
	time.Sleep(200 * time.Millisecond)
	close(src.hold)
	done.Wait()
	assert.Equal(t, int32(1), src.fetches.Load(), "one fetch for all of them")
	for _, err := range errs {
		assert.ErrorIs(t, err, ErrUnknownKey)
	}
}
