package paging

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

func TestParse(t *testing.T) {
	errs := validation.Errors{}
	assert.Equal(t, Request{Page: 0, Size: 10}, Parse("", "", errs))
	assert.Equal(t, Request{Page: 3, Size: 100}, Parse("3", "100", errs))
	assert.Empty(t, errs)
	for _, bad := range [][2]string{{"-1", "10"}, {"x", "10"}, {"1000001", "10"}, {"0", "0"}, {"0", "101"}, {"0", "1e2"}, {"0", "99999999999999999999"}} {
		errs := validation.Errors{}
		Parse(bad[0], bad[1], errs)
		assert.Len(t, errs, 1, "%v", bad)
	}
}

func TestOf(t *testing.T) {
	p := Of(Request{Page: 1, Size: 2}, []int{3}, 3)
	assert.Equal(t, Page[int]{Content: []int{3}, Page: 1, Size: 2, TotalElements: 3, TotalPages: 2, Last: true}, p)
	empty := Of[int](Request{Page: 0, Size: 10}, nil, 0)
	assert.Equal(t, []int{}, empty.Content, "an empty page is [] in JSON, not null")
	assert.True(t, empty.Last)
	assert.Equal(t, []string{"3"}, Map(p, strconv.Itoa).Content)
}
