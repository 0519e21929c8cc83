// Package testjwt signs tokens the way auth does, and the ways attackers do,
// for tests of the gateway's verification.
package testjwt

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Issuer and Audience are what the gateway expects by default.
const (
	Issuer   = "qeetmart-auth"
	Audience = "qeetmart"
)

// Signer holds one Ed25519 key, as auth does.
type Signer struct {
	KID  string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// NewSigner makes a fresh key named kid.
func NewSigner(kid string) *Signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Signer{KID: kid, priv: priv, pub: pub}
}

// JWK is the public key as published.
func (s *Signer) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: s.pub, KeyID: s.KID, Algorithm: "EdDSA", Use: "sig"}
}

// JWKS is a key set JSON document holding the given signers' public keys.
func JWKS(signers ...*Signer) []byte {
	var set jose.JSONWebKeySet
	for _, s := range signers {
		set.Keys = append(set.Keys, s.JWK())
	}
	raw, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	return raw
}

// Claims returns valid access-token claims for user and session.
func Claims(user, session string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": user, "sid": session, "email": user + "@example.com", "role": "USER", "typ": "access",
		"iss": Issuer, "aud": Audience,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		"jti": "jti-" + session,
	}
}

// Sign signs claims with EdDSA and the signer's kid.
func (s *Signer) Sign(claims jwt.MapClaims) string {
	return s.sign(jwt.SigningMethodEdDSA, s.priv, claims)
}

func (s *Signer) sign(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(method, claims)
	t.Header["kid"] = s.KID
	out, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return out
}

// Access is a valid access token for user and session.
func (s *Signer) Access(user, session string) string { return s.Sign(Claims(user, session)) }

// AlgNone is claims with no signature at all.
func (s *Signer) AlgNone(claims jwt.MapClaims) string {
	return s.sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)
}

// HS256WithPublicKey is the classic confusion attack: an HMAC signed with
// the verifier's public key bytes as the secret.
func (s *Signer) HS256WithPublicKey(claims jwt.MapClaims) string {
	return s.sign(jwt.SigningMethodHS256, []byte(s.pub), claims)
}

// Tampered changes the payload of a valid token (here: the role) and keeps
// the old signature.
func Tampered(token string) string {
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		panic(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		panic(err)
	}
	claims["role"] = "ADMIN"
	raw, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}
