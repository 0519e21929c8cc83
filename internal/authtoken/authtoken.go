// Package authtoken is the token contract between auth, which signs, and the
// gateway, which verifies: claim names, token types and the algorithms
// accepted. One definition, so the two cannot drift apart.
package authtoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types, in the typ claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
)

// Roles, in the role claim. An ADMIN may act on everything; every service
// reads the role the gateway verified from X-User-Role.
const (
	RoleUser  = "USER"
	RoleAdmin = "ADMIN"
)

// Algorithms auth may sign with; a verifier accepts nothing else.
var Algorithms = []string{"EdDSA", "ES256"}

// Claims are the claims of every QeetMart token.
type Claims struct {
	jwt.RegisteredClaims        // sub (user id), iss, aud, iat, nbf, exp, jti
	SessionID            string `json:"sid"`
	Email                string `json:"email"`
	Role                 string `json:"role"`
	Type                 string `json:"typ"`
}

// Revocation is what auth publishes when sessions end, and what the gateway
// applies to its revocation list: either the ended session ids, or a user id
// whose tokens issued before NotBefore are void. An event matters only until
// ExpiresAt, when every access token it could void has expired anyway.
type Revocation struct {
	SessionIDs []string  `json:"sessionIds,omitempty"`
	UserID     string    `json:"userId,omitempty"`
	NotBefore  time.Time `json:"notBefore,omitzero"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// Where revocations travel: a pub/sub component and topic of their own.
const (
	RevocationPubsub = "revocations"
	RevocationTopic  = "revocations"
)

// MaxLeeway is the most clock skew a verifier tolerates on exp and nbf; a
// revocation outlives a token's exp by it.
const MaxLeeway = 60 * time.Second
