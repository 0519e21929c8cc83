package domain

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/ids"
)

// SigningKey is one Ed25519 key. A key is published (JWKS) from the moment
// it is added and signs from ActiveFrom until the next key's ActiveFrom; it
// stays published until every token it signed has expired.
type SigningKey struct {
	KID        string             `json:"kid"`
	Private    ed25519.PrivateKey `json:"private"`
	CreatedAt  time.Time          `json:"createdAt"`
	ActiveFrom time.Time          `json:"activeFrom"`
}

// NewSigningKey makes a key whose kid is its RFC 7638 thumbprint, to sign
// from activeFrom.
func NewSigningKey(now, activeFrom time.Time) (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return SigningKey{}, fmt.Errorf("thumbprint: %w", err)
	}
	return SigningKey{KID: base64.RawURLEncoding.EncodeToString(thumb), Private: priv, CreatedAt: now, ActiveFrom: activeFrom}, nil
}

// KeyRing is auth's set of signing keys, oldest first.
type KeyRing struct {
	Keys []SigningKey `json:"keys"`
}

// ErrNoSigningKey means the ring has no active key.
var ErrNoSigningKey = errors.New("no active signing key")

// Active is the key that signs at now: of the keys already active, the one
// that became active last.
func (r KeyRing) Active(now time.Time) (SigningKey, error) {
	var best SigningKey
	for _, k := range r.Keys {
		if !k.ActiveFrom.After(now) && (best.KID == "" || k.ActiveFrom.After(best.ActiveFrom)) {
			best = k
		}
	}
	if best.KID == "" {
		return best, ErrNoSigningKey
	}
	return best, nil
}

// Rotate adds a key that signs from now+delay. Verifiers see it in the JWKS
// at once, so with a delay longer than their refetch cooldown no verifier
// meets a token of a key it could not have fetched: rotation without a
// moment of refused tokens.
func (r *KeyRing) Rotate(now time.Time, delay time.Duration) (SigningKey, error) {
	k, err := NewSigningKey(now, now.Add(delay))
	if err != nil {
		return k, err
	}
	r.Keys = append(r.Keys, k)
	return k, nil
}

// Prune drops keys that stopped signing longer ago than the longest token
// lifetime: no live token can carry their kid.
func (r *KeyRing) Prune(now time.Time, longestToken time.Duration) {
	kept := r.Keys[:0]
	for _, k := range r.Keys {
		if end, ok := r.supersededAt(k, now); !ok || now.Sub(end) < longestToken {
			kept = append(kept, k)
		}
	}
	r.Keys = kept
}

// supersededAt is when a later key took over from k, if one has by now.
func (r KeyRing) supersededAt(k SigningKey, now time.Time) (time.Time, bool) {
	var end time.Time
	for _, other := range r.Keys {
		if other.ActiveFrom.After(k.ActiveFrom) && !other.ActiveFrom.After(now) && (end.IsZero() || other.ActiveFrom.Before(end)) {
			end = other.ActiveFrom
		}
	}
	return end, !end.IsZero()
}

// JWKS is the public half of every key still in the ring.
func (r KeyRing) JWKS() jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(r.Keys))}
	for _, k := range r.Keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: k.Private.Public(), KeyID: k.KID, Algorithm: "EdDSA", Use: "sig",
		})
	}
	return set
}

func (r KeyRing) public(kid string) (ed25519.PublicKey, bool) {
	for _, k := range r.Keys {
		if k.KID == kid {
			return k.Private.Public().(ed25519.PublicKey), true
		}
	}
	return nil, false
}

// TokenConfig is how tokens are made.
type TokenConfig struct {
	Issuer, Audience string
	AccessTTL        time.Duration // 15 min
	RefreshTTL       time.Duration // 7 days, sliding
	AbsoluteTTL      time.Duration // 30 days from login, whatever the sliding
}

// RefreshExpiry is when a refresh token issued at now expires: RefreshTTL
// later, but never past its login's absolute limit.
func (c TokenConfig) RefreshExpiry(now, absolute time.Time) time.Time {
	if exp := now.Add(c.RefreshTTL); exp.Before(absolute) {
		return exp
	}
	return absolute
}

// Issued is one signed token and what the store must remember of it.
type Issued struct {
	Token     string
	ID        string // jti
	ExpiresAt time.Time
}

// Sign makes a token of typ for user within session, valid from now.
func (c TokenConfig) Sign(key SigningKey, u User, sessionID, typ string, now time.Time, expires time.Time) (Issued, error) {
	jti, err := ids.New()
	if err != nil {
		return Issued{}, err
	}
	claims := authtoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID,
			Issuer:    c.Issuer,
			Audience:  jwt.ClaimStrings{c.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        jti,
		},
		SessionID: sessionID, Email: u.Email, Role: u.Role, Type: typ,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.KID
	signed, err := t.SignedString(key.Private)
	if err != nil {
		return Issued{}, fmt.Errorf("sign: %w", err)
	}
	return Issued{Token: signed, ID: jti, ExpiresAt: expires}, nil
}

// ErrInvalidRefresh covers every reason a presented refresh token is not
// one of ours: bad signature, wrong type, expired, malformed.
var ErrInvalidRefresh = errors.New("refresh token is invalid")

// ParseRefresh verifies a refresh token against the ring and returns its
// claims. An access token is refused here, as a refresh token is refused
// as a bearer token at the gateway.
func (c TokenConfig) ParseRefresh(token string, ring KeyRing, now time.Time) (authtoken.Claims, error) {
	var claims authtoken.Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"EdDSA"}),
		jwt.WithIssuer(c.Issuer), jwt.WithAudience(c.Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if key, ok := ring.public(kid); ok {
			return key, nil
		}
		return nil, ErrInvalidRefresh
	})
	if err != nil || claims.Type != authtoken.TypeRefresh || claims.SessionID == "" || claims.ID == "" {
		return claims, ErrInvalidRefresh
	}
	return claims, nil
}
