package validation

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestText(t *testing.T) {
	e := Errors{}
	e.Text("name", "  ", 10)
	e.Text("city", strings.Repeat("é", 11), 10)
	e.Text("state", "ok\x00", 10)
	e.Text("street", strings.Repeat("é", 10), 10)
	e.OptionalText("note", "", 10)
	assert.Equal(t, Errors{
		"name":  "name is required",
		"city":  "city must be at most 10 characters",
		"state": "state must not contain control characters",
	}, e)
}

func TestAddKeepsTheFirstProblem(t *testing.T) {
	e := Errors{}
	assert.NoError(t, e.Err())
	e.Add("phone", "phone is required")
	e.Match("phone", "x", regexp.MustCompile(`^[0-9]+$`), "phone must be a valid number")
	assert.Equal(t, Errors{"phone": "phone is required"}, e)
	assert.Error(t, e.Err())
}

func TestNormalizeEmail(t *testing.T) {
	assert.Equal(t, "ann@example.com", NormalizeEmail("  Ann@Example.COM "))
}

func TestEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"ann@example.com":                  true,
		"ann.b+tag@sub.example.co.uk":      true,
		"":                                 false,
		"ann":                              false,
		"ann@":                             false,
		"Ann <ann@example.com>":            false,
		"a@b.c, d@e.f":                     false,
		"a||b@example.com":                 false,
		"a\tb@example.com":                 false,
		strings.Repeat("a", 250) + "@x.io": false,
	} {
		assert.Equal(t, want, Email(email), email)
	}
}
