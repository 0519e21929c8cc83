// Package validation collects what is wrong with a request's fields, in
// plain Go: use cases return Errors, and the web layer answers them as one
// 400 VALIDATION_FAILED naming each field.
package validation

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Errors maps a field to what is wrong with it (the first problem found).
type Errors map[string]string

func (e Errors) Error() string { return fmt.Sprintf("invalid fields: %v", map[string]string(e)) }

// Add records msg for field unless the field already has a problem.
func (e Errors) Add(field, msg string) {
	if _, ok := e[field]; !ok {
		e[field] = msg
	}
}

// Err is e as an error, or nil when nothing is wrong.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Text checks a required text field: not blank, at most max characters,
// printable (PostgreSQL's JSONB cannot hold NUL; no other control character
// belongs in a name or an address either).
func (e Errors) Text(field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		e.Add(field, field+" is required")
		return
	}
	e.OptionalText(field, v, max)
}

// OptionalText checks a text field that may be empty.
func (e Errors) OptionalText(field, v string, max int) {
	if utf8.RuneCountInString(v) > max {
		e.Add(field, fmt.Sprintf("%s must be at most %d characters", field, max))
	} else if !Printable(v) {
		e.Add(field, field+" must not contain control characters")
	}
}

// Match checks that a present field matches re, with msg otherwise.
func (e Errors) Match(field, v string, re *regexp.Regexp, msg string) {
	if v != "" && !re.MatchString(v) {
		e.Add(field, msg)
	}
}

// Printable reports whether s is valid UTF-8 without control characters.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// NormalizeEmail is how emails are stored and compared everywhere: trimmed
// and lower case, so A@x.com and a@x.com are one person (the original kept
// both).
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// Email reports whether email is one plain address (no display name, no
// list), at most 254 characters (RFC 5321), that can be part of a state key:
// no "||" (Dapr's key separator) and no control characters.
func Email(email string) bool {
	if email == "" || len(email) > 254 || strings.Contains(email, "||") || !Printable(email) {
		return false
	}
	addr, err := mail.ParseAddress(email)
	return err == nil && addr.Address == email && addr.Name == "" && strings.Contains(email, "@")
}
