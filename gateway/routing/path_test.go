package routing

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		raw, want string
		err       error
	}{
		{"/api/v1/products", "/api/v1/products", nil},
		{"/api/v1/products/", "/api/v1/products/", nil},
		{"/", "/", nil},
		{"/.well-known/jwks.json", "/.well-known/jwks.json", nil},
		{"/api/v1/products/caf%C3%A9", "/api/v1/products/café", nil},
		{"/api/v1/products/a%20b", "/api/v1/products/a b", nil},
		{"/api/v1/products/100%25", "/api/v1/products/100%", nil},
		{"/api/v1/products/a%3Fb", "/api/v1/products/a?b", nil},
		{"/api/v1/products/a;b", "/api/v1/products/a;b", nil},
		{"/api/v1/auth/regist%65r", "/api/v1/auth/register", nil},
		{"/api/v1/products/..%2e", "/api/v1/products/...", nil}, // three dots is a name

		{"api/v1/products", "", ErrPathNotAbsolute},
		{"", "", ErrPathNotAbsolute},
		{"*", "", ErrPathNotAbsolute},
		{"/api/v1/products/../../../../../v1.0/metadata", "", ErrPathDotSegment},
		{"/api/v1/products/./5", "", ErrPathDotSegment},
		{"/api/v1/products/..", "", ErrPathDotSegment},
		{"/api/v1/products/%2e%2e/x", "", ErrPathDotSegment},
		{"/api/v1/products/%2E", "", ErrPathDotSegment},
		{"/api/v1/products/.%2e/x", "", ErrPathDotSegment},
		{"/api/v1//products", "", ErrPathEmptySegment},
		{"//api/v1/products", "", ErrPathEmptySegment},
		{"/api/v1/products//", "", ErrPathEmptySegment},
		{"/api/v1/products/a%2Fb", "", ErrPathSeparator},
		{"/api/v1/products/a%2fb", "", ErrPathSeparator},
		{"/api/v1/products/a%5Cb", "", ErrPathSeparator},
		{`/api/v1/products\..\x`, "", ErrPathSeparator},
		{"/api/v1/products/a%00b", "", ErrPathControl},
		{"/api/v1/products/a%0Ab", "", ErrPathControl},
		{"/api/v1/products/a%7Fb", "", ErrPathControl},
		{"/api/v1/products/a\tb", "", ErrPathControl},
		{"/api/v1/products/%", "", ErrPathEncoding},
		{"/api/v1/products/%4", "", ErrPathEncoding},
		{"/api/v1/products/%zz", "", ErrPathEncoding},
		{"/api/v1/products/%%32%65", "", ErrPathEncoding},
		{"/api/v1/products/%C3", "", ErrPathUTF8},
		{"/api/v1/products/%FF", "", ErrPathUTF8},
		{"/api/v1/products/a#b", "", ErrPathDelimiter},
		{"/api/v1/products/a?b", "", ErrPathDelimiter},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Canonical(tt.raw)
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEscapeRoundTrips(t *testing.T) {
	tests := []struct{ canonical, wire string }{
		{"/products/café", "/products/caf%C3%A9"},
		{"/products/a b", "/products/a%20b"},
		{"/products/a?b#c", "/products/a%3Fb%23c"},
		{"/products/100%", "/products/100%25"},
		{"/products/", "/products/"},
		{"/.well-known/jwks.json", "/.well-known/jwks.json"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.wire, Escape(tt.canonical))
		back, err := Canonical(Escape(tt.canonical))
		assert.NoError(t, err)
		assert.Equal(t, tt.canonical, back)
	}
}

// FuzzCanonical: whatever the input, Canonical never panics, and what it
// accepts has no segment a later parser could read as a step up or as a
// separator, and re-escapes to a wire form that decodes back to itself.
func FuzzCanonical(f *testing.F) {
	for _, seed := range []string{
		"/api/v1/products/5", "/api/v1/products/../../v1.0/metadata", "/api/v1/products/%2e%2e/x",
		"/a%2Fb", "/a%5c", "/caf%C3%A9", "/a%20b", "//x", "/x/", "/%", "/%zz", "/a\x00", "*", "",
		"/api/v1/products;/..;/v1.0/shutdown", "/%252e%252e/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Canonical(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "/") || !utf8.ValidString(got) {
			t.Fatalf("Canonical(%q) = %q: not an absolute UTF-8 path", raw, got)
		}
		segments := strings.Split(got[1:], "/")
		for i, seg := range segments {
			if seg == "." || seg == ".." || (seg == "" && i != len(segments)-1) || strings.ContainsAny(seg, "\\\x00") {
				t.Fatalf("Canonical(%q) = %q: segment %q", raw, got, seg)
			}
		}
		wire := Escape(got)
		if again, err := Canonical(wire); err != nil || again != got {
			t.Fatalf("Escape(%q) = %q decodes to %q, %v", got, wire, again, err)
		}
		if strings.Contains(wire, "/../") || strings.HasSuffix(wire, "/..") {
			t.Fatalf("wire form %q steps up", wire)
		}
	})
}
