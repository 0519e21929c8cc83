// Package identity verifies bearer tokens at the gateway without calling auth
// per request: auth's public keys (JWKS) are cached, and revocations arrive
// as events. Plain Go: no HTTP framework, no Dapr.
package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// KeySource fetches the current JWKS (from auth, through Dapr).
type KeySource interface {
	FetchJWKS(ctx context.Context) (jose.JSONWebKeySet, error)
}

// ErrUnknownKey means no cached or refetched key has the token's kid.
var ErrUnknownKey = errors.New("unknown signing key")

// publicKey is one verification key with the one algorithm it may verify.
type publicKey struct {
	alg string // EdDSA or ES256
	key crypto.PublicKey
}

// Keys caches auth's public keys by kid. An unknown kid triggers at most one
// refetch per cooldown, so forged kids cannot make the gateway hammer auth;
// a failed refresh keeps the keys it had, so the gateway keeps verifying
// while auth is down.
type Keys struct {
	src      KeySource
	cooldown time.Duration
	now      func() time.Time

	mu          sync.RWMutex
	keys        map[string]publicKey
	lastAttempt time.Time
	refreshing  sync.Mutex         // one fetch at a time
	refetch     singleflight.Group // concurrent unknown kids share one
}

// NewKeys returns an empty cache; call Refresh to load it.
func NewKeys(src KeySource, cooldown time.Duration) *Keys {
	return &Keys{src: src, cooldown: cooldown, now: time.Now, keys: map[string]publicKey{}}
}

// Refresh replaces the cached keys with the source's. On error the old keys
// stay in use.
func (k *Keys) Refresh(ctx context.Context) error {
	k.refreshing.Lock()
	defer k.refreshing.Unlock()
	k.mu.Lock()
	k.lastAttempt = k.now()
	k.mu.Unlock()

	set, err := k.src.FetchJWKS(ctx)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	keys := make(map[string]publicKey, len(set.Keys))
	for _, jwk := range set.Keys {
		pk, ok := usable(jwk)
		if ok && jwk.KeyID != "" {
			keys[jwk.KeyID] = pk
		}
	}
	if len(keys) == 0 {
		return errors.New("fetch JWKS: no usable EdDSA or ES256 key")
	}
	k.mu.Lock()
	k.keys = keys
	k.mu.Unlock()
	return nil
}

// usable accepts only public Ed25519 and P-256 keys meant for signatures;
// anything else (RSA, symmetric, private material) is ignored.
func usable(jwk jose.JSONWebKey) (publicKey, bool) {
	if !jwk.Valid() || !jwk.IsPublic() || (jwk.Use != "" && jwk.Use != "sig") {
		return publicKey{}, false
	}
	switch key := jwk.Key.(type) {
	case ed25519.PublicKey:
		if jwk.Algorithm == "" || jwk.Algorithm == "EdDSA" {
			return publicKey{alg: "EdDSA", key: key}, true
		}
	case *ecdsa.PublicKey:
		if key.Curve == elliptic.P256() && (jwk.Algorithm == "" || jwk.Algorithm == "ES256") {
			return publicKey{alg: "ES256", key: key}, true
		}
	}
	return publicKey{}, false
}

// Lookup returns the key for kid and the algorithm it verifies, refetching
// once (per cooldown) when kid is unknown: auth may have just rotated.
func (k *Keys) Lookup(ctx context.Context, kid string) (string, crypto.PublicKey, error) {
	if pk, ok := k.get(kid); ok {
		return pk.alg, pk.key, nil
	}
	if !k.coolingDown() {
		// Every caller that arrives while a refetch runs waits for that one;
		// one that arrives after it sees the cooldown.
		_, _, _ = k.refetch.Do("jwks", func() (any, error) {
			if k.coolingDown() {
				return nil, nil // a refetch just finished
			}
			return nil, k.Refresh(ctx) // on failure the cached keys still answer below
		})
	}
	if pk, ok := k.get(kid); ok {
		return pk.alg, pk.key, nil
	}
	return "", nil, ErrUnknownKey
}

func (k *Keys) coolingDown() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.now().Sub(k.lastAttempt) < k.cooldown
}

func (k *Keys) get(kid string) (publicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	pk, ok := k.keys[kid]
	return pk, ok
}

// Len is how many keys are cached.
func (k *Keys) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.keys)
}
