package domain

import (
	"strings"
	"unicode"
)

// maxSlugLen keeps slugs short enough for URLs and state keys (bytes).
const maxSlugLen = 80

// Slug is the URL form of a name: lower-case letters and digits (any
// script), each run of anything else as one "-", no "-" at either end, at
// most maxSlugLen bytes. A name with no letter or digit gives "item".
func Slug(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(name) {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte('-')
		}
		gap = false
		b.WriteRune(r)
	}
	s := strings.TrimRight(truncate(b.String(), maxSlugLen), "-")
	if s == "" {
		return "item"
	}
	return s
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n {
			break
		}
		cut = i
	}
	return s[:cut]
}
