package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/qeetmart/qeetmart/internal/authtoken"
)

// Identity is who a verified access token says the caller is.
type Identity struct {
	UserID    string
	SessionID string
	Email     string
	Role      string
}

// Errors a token can fail with; all mean 401.
var (
	ErrRevoked = errors.New("token revoked")
	// ErrNotReady: the gateway has not yet loaded auth's keys and the
	// revocations in force, so it can tell no token good or bad.
	ErrNotReady  = errors.New("auth's keys and revocations not loaded yet")
	ErrNotAccess = errors.New("not an access token")
	ErrNoSubject = errors.New("token has no subject")
)

// Verifier checks bearer tokens: signature by a cached auth key (EdDSA or
// ES256 only, the key's own algorithm), exp/nbf with leeway, iss and aud
// always, typ access, and the revocation list.
type Verifier struct {
	keys        *Keys
	revocations *Revocations
	parser      *jwt.Parser
}

// NewVerifier builds a verifier. leeway is capped at 60 s.
func NewVerifier(keys *Keys, revocations *Revocations, issuer, audience string, leeway time.Duration) *Verifier {
	leeway = min(leeway, authtoken.MaxLeeway)
	return &Verifier{
		keys:        keys,
		revocations: revocations,
		parser: jwt.NewParser(
			jwt.WithValidMethods(authtoken.Algorithms),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithLeeway(leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
		),
	}
}

// Verify returns the token's identity, or why it is not acceptable.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	if v.keys.Len() == 0 || !v.revocations.CaughtUp() {
		return Identity{}, ErrNotReady
	}
	var claims authtoken.Claims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		alg, key, err := v.keys.Lookup(ctx, kid)
		if err != nil {
			return nil, err
		}
		// The key decides the algorithm, never the token: this is what stops
		// algorithm confusion.
		if t.Method.Alg() != alg {
			return nil, fmt.Errorf("key %q verifies %s, token says %s", kid, alg, t.Method.Alg())
		}
		return key, nil
	})
	if err != nil {
		return Identity{}, err
	}
	if claims.Type != authtoken.TypeAccess {
		return Identity{}, ErrNotAccess
	}
	if claims.Subject == "" {
		return Identity{}, ErrNoSubject
	}
	var issued time.Time
	if claims.IssuedAt != nil {
		issued = claims.IssuedAt.Time
	}
	if v.revocations.Revoked(claims.Subject, claims.SessionID, issued) {
		return Identity{}, ErrRevoked
	}
	return Identity{UserID: claims.Subject, SessionID: claims.SessionID, Email: claims.Email, Role: claims.Role}, nil
}
