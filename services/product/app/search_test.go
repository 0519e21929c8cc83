package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSearchWordsThenAPrefix(t *testing.T) {
	for query, want := range map[string][2]string{
		"head":                 {"head:*", "head:*"},
		"Sony  HEAD":           {"sony & head:*", "sony:* & head:*"},
		"wireless-head phones": {"wireless & head & phones:*", "wireless:* & head:* & phones:*"},
		"'; DROP & | !x":       {"drop & x:*", "drop:* & x:*"},
	} {
		q, err := SearchParams{Query: query}.Search(Caller{})
		require.NoError(t, err, query)
		assert.Equal(t, want, [2]string{q.TSQuery, q.Broad}, query)
	}
}

func TestSearchCursorKeepsABroadenedSearchBroad(t *testing.T) {
	cursor := Cursor{Sort: searchSort, Value: "0.5", Key: "k", Broad: true}.Encode()
	q, err := SearchParams{Query: "head sony", Cursor: cursor}.Search(Caller{})
	require.NoError(t, err)
	assert.Equal(t, "head:* & sony:*", q.TSQuery)
	q, err = SearchParams{Query: "head sony", Cursor: Cursor{Sort: searchSort, Value: "0.5", Key: "k"}.Encode()}.Search(Caller{})
	require.NoError(t, err)
	assert.Equal(t, "head & sony:*", q.TSQuery)
}
