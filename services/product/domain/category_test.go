package domain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

func TestCategoryFieldsCheck(t *testing.T) {
	f := CategoryFields{Name: "  Audio ", Description: " Headphones and speakers "}
	require.NoError(t, f.Check())
	assert.Equal(t, CategoryFields{Name: "Audio", Description: "Headphones and speakers"}, f)

	var errs validation.Errors
	bad := CategoryFields{Name: strings.Repeat("n", 101), Description: strings.Repeat("d", 501)}
	require.ErrorAs(t, bad.Check(), &errs)
	assert.Equal(t, validation.Errors{"name": "name must be at most 100 characters", "description": "description must be at most 500 characters"}, errs)
	require.ErrorAs(t, (&CategoryFields{Name: " "}).Check(), &errs)
	assert.Equal(t, "name is required", errs["name"])
}

func TestNameKeyIgnoresCase(t *testing.T) {
	assert.Equal(t, NameKey(" Audio"), NameKey("AUDIO "))
}
