package routing

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Why a request path is refused. Each is a 400 at the edge: a path that
// could mean two things to two parsers never reaches a sidecar.
var (
	ErrPathNotAbsolute  = errors.New("path must start with /")
	ErrPathDotSegment   = errors.New("path has a . or .. segment")
	ErrPathEmptySegment = errors.New("path has an empty segment")
	ErrPathEncoding     = errors.New("path has invalid percent-encoding")
	ErrPathSeparator    = errors.New("path has an encoded / or a \\")
	ErrPathControl      = errors.New("path has a control character")
	ErrPathUTF8         = errors.New("path is not valid UTF-8")
	ErrPathDelimiter    = errors.New("path has a ? or # in it")
)

// Canonical decodes a raw request path (as it came on the request line)
// exactly once and returns the one form the gateway matches routes on and
// builds upstream paths from. Because it refuses encoded slashes, the result
// splits back into the same segments it was decoded from, so what is matched
// is what is forwarded. A single trailing slash is allowed (/api/v1/products/
// is the collection); any other empty segment is refused.
func Canonical(raw string) (string, error) {
	if !strings.HasPrefix(raw, "/") {
		return "", ErrPathNotAbsolute
	}
	segments := strings.Split(raw[1:], "/")
	var b strings.Builder
	b.Grow(len(raw))
	for i, seg := range segments {
		if seg == "" {
			if i == len(segments)-1 {
				b.WriteByte('/') // trailing slash, or the root "/"
				break
			}
			return "", ErrPathEmptySegment
		}
		decoded, err := decodeSegment(seg)
		if err != nil {
			return "", err
		}
		b.WriteByte('/')
		b.WriteString(decoded)
	}
	return b.String(), nil
}

// decodeSegment percent-decodes one segment, strictly.
func decodeSegment(seg string) (string, error) {
	var out []byte
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) {
				return "", ErrPathEncoding
			}
			hi, ok1 := unhex(seg[i+1])
			lo, ok2 := unhex(seg[i+2])
			if !ok1 || !ok2 {
				return "", ErrPathEncoding
			}
			c = hi<<4 | lo
			if c == '/' || c == '\\' {
				return "", ErrPathSeparator
			}
			i += 2
		} else if c == '\\' {
			return "", ErrPathSeparator
		} else if c == '?' || c == '#' {
			return "", ErrPathDelimiter
		}
		if c < 0x20 || c == 0x7f {
			return "", ErrPathControl
		}
		out = append(out, c)
	}
	s := string(out)
	if s == "." || s == ".." {
		return "", ErrPathDotSegment
	}
	if !utf8.ValidString(s) {
		return "", ErrPathUTF8
	}
	return s, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Escape turns a canonical path back into its wire form, each segment
// percent-encoded on its own, so that no character in a segment (?, #, %,
// space) can end the path early or start a new segment.
func Escape(canonical string) string {
	segments := strings.Split(canonical, "/")
	for i, seg := range segments {
		segments[i] = url.PathEscape(seg)
	}
	return strings.Join(segments, "/")
}
