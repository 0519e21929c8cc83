package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAllow(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := New(Policy{PerSecond: 1, Burst: 3})
	l.now = func() time.Time { return clock }

	for i := range 3 {
		d := l.Allow("a")
		assert.True(t, d.Allowed)
		assert.Equal(t, 3, d.Limit)
		assert.Equal(t, 2-i, d.Remaining)
	}
	d := l.Allow("a")
	assert.False(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining)
	assert.Equal(t, time.Second, d.RetryAfter)
	assert.Equal(t, 3*time.Second, d.Reset)

	assert.True(t, l.Allow("b").Allowed, "keys have their own buckets")

	clock = clock.Add(1500 * time.Millisecond)
	d = l.Allow("a")
	assert.True(t, d.Allowed, "a token refilled")
	assert.Equal(t, 0, d.Remaining)
}

func TestSweep(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := New(Policy{PerSecond: 1, Burst: 1})
	l.now = func() time.Time { return clock }
	l.Allow("old")
	clock = clock.Add(time.Hour)
	l.Allow("new")
	l.Sweep(time.Minute)
	assert.Len(t, l.buckets, 1)
	assert.Contains(t, l.buckets, "new")
}
