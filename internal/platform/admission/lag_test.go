package admission

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLagRefusesWhileTheOldestPendingIsTooOld(t *testing.T) {
	clock := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	l := NewLag(3 * time.Second)
	l.now = func() time.Time { return clock }
	g := New(4, 4).RefuseWhile(l.Behind)
	run := func() error { return g.Run(context.Background(), func() error { return nil }) }

	assert.NoError(t, run(), "nothing reported: open")
	l.Pending(clock.Add(-time.Second))
	assert.NoError(t, run(), "the oldest pending is 1 s old: within the limit")

	clock = clock.Add(2500 * time.Millisecond)
	assert.ErrorIs(t, run(), ErrBusy, "still pending, now 3.5 s old: refused")

	l.Pending(time.Time{})
	assert.NoError(t, run(), "drained: open at once")

	l.Pending(clock.Add(-10 * time.Second))
	assert.ErrorIs(t, run(), ErrBusy)
	clock = clock.Add(4 * time.Second)
	assert.NoError(t, run(), "no report for longer than the limit: a stopped relay does not keep writes out")
}

func TestLagOfZeroNeverRefuses(t *testing.T) {
	l := NewLag(0)
	l.Pending(time.Now().Add(-time.Hour))
	assert.False(t, l.Behind())
}
