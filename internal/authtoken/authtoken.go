// Package authtoken is the token contract between auth, which signs, and the
// gateway, which verifies: claim names, token types and the algorithms
// accepted. One definition, so the two cannot drift apart.
package authtoken

import "github.com/golang-jwt/jwt/v5"

// Token types, in the typ claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
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
