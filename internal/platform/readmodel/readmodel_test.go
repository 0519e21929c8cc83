package readmodel

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLikePrefix(t *testing.T) {
	assert.Equal(t, `ann%`, LikePrefix("ann"))
	assert.Equal(t, `50\%\_off\\%`, LikePrefix(`50%_off\`))
}

func TestKeysOf(t *testing.T) {
	d := &DB{appID: "user"}
	assert.Equal(t, `'user||profile:%'`, d.KeysOf("profile"))
	assert.Panics(t, func() { d.KeysOf("x'; DROP TABLE state; --") })
}

func TestSortableTimeSortsAsText(t *testing.T) {
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(100 * time.Millisecond), base.Add(510 * time.Millisecond), base.Add(time.Second), base.Add(time.Hour)}
	for i := 1; i < len(times); i++ {
		assert.Less(t, SortableTime(times[i-1]), SortableTime(times[i]))
	}
	ist := time.FixedZone("IST", 5*3600+1800)
	assert.Equal(t, "2026-12-01T10:00:00.000000Z", SortableTime(base.In(ist)), "always UTC")
}
