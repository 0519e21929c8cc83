package ids

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewSortsByCreation(t *testing.T) {
	a, err := New()
	require.NoError(t, err)
	b, err := New()
	require.NoError(t, err)
	assert.True(t, Valid(a) && Valid(b))
	assert.Less(t, a, b)
}

func TestValid(t *testing.T) {
	id, _ := New()
	for _, bad := range []string{"", "1", strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id, id + " "} {
		assert.False(t, Valid(bad), bad)
	}
}
