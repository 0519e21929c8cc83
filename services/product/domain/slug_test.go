package domain

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestSlug(t *testing.T) {
	for name, want := range map[string]string{
		"Sony WH-1000XM5 Headphones": "sony-wh-1000xm5-headphones",
		"  --Café  Crème!! ":         "café-crème",
		"Ünïcödé 東京 Tower":           "ünïcödé-東京-tower",
		"!!!":                        "item",
		"":                           "item",
	} {
		assert.Equal(t, want, Slug(name), name)
	}
	long := Slug(strings.Repeat("é", 100))
	assert.LessOrEqual(t, len(long), maxSlugLen)
	assert.True(t, utf8.ValidString(long), "never splits a character")
	assert.Equal(t, strings.Repeat("a", 79), Slug(strings.Repeat("a", 79)+" b"), "no dash left at the cut")
}
