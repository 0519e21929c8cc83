package identity

import (
	"context"
	"strings"
	"testing"
	"time"

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
	want := Identity{UserID: "user-1", SessionID: "session-1", Email: "user-1@example.com", Role: "USER"}
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
		// Accepted: it must say exactly what the signer signed (another
		// base64 spelling of the same token may verify; changed claims never).
		if id != want {
			t.Fatalf("accepted %q as %+v", token, id)
		}
	})
}
