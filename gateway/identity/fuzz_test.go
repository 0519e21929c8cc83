package identity

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// FuzzVerify: no bearer string makes the verifier panic or accept a token
// it did not see signed by the key it holds; the seeds are a real token and
// its classic forgeries.
func FuzzVerify(f *testing.F) {
	signer := testjwt.NewSigner("k1")
	keys := NewKeys(newSource(signer), time.Hour)
	if err := keys.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	v := NewVerifier(keys, NewRevocations(), testjwt.Issuer, testjwt.Audience, 30*time.Second)
	claims := testjwt.Claims("user-1", "session-1")
	valid := signer.Sign(claims)
	for _, seed := range []string{
		valid, signer.AlgNone(claims), signer.HS256WithPublicKey(claims), testjwt.Tampered(valid),
		"", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("a", 10000), "e30.e30.e30",
		"eyJhbGciOiJFZERTQSIsImtpZCI6WzFdfQ.e30.AAAA",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(context.Background(), token)
		if err != nil {
			return
		}
		// Accepted: it must be exactly a token the signer made.
		parsed, _, perr := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
		if perr != nil || token != valid || id.UserID != "user-1" {
			t.Fatalf("accepted %q as %+v (parse: %v, %v)", token, id, parsed, perr)
		}
	})
}
