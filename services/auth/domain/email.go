package domain

import (
	"net/mail"
	"strings"
)

// NormalizeEmail is how emails are stored and compared: trimmed and lower
// case, so A@x.com and a@x.com are one account (the original kept both).
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidEmail reports whether email is one plain address (no display name,
// no list), at most 254 characters (RFC 5321), that can be part of a state
// key: no "||" (Dapr's key separator) and no control characters.
func ValidEmail(email string) bool {
	if email == "" || len(email) > 254 || strings.Contains(email, "||") {
		return false
	}
	for _, r := range email {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	addr, err := mail.ParseAddress(email)
	return err == nil && addr.Address == email && addr.Name == "" && strings.Contains(email, "@")
}
