package admission

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLagRefusesWhileTheLatestReportIsLateAndRecent(t *testing.T) {
	clock := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	l := NewLag(3 * time.Second)
	l.now = func() time.Time { return clock }
	g := New(4, 4).RefuseWhile(l.Behind)
	run := func() error { return g.Run(context.Background(), func() error { return nil }) }

	assert.NoError(t, run(), "nothing reported: open")
	l.Finished(clock.Add(-1100 * time.Millisecond))
	assert.NoError(t, run(), "finished 1.1 s after it started: within the limit")

	l.Finished(clock.Add(-5 * time.Second))
	assert.ErrorIs(t, run(), ErrBusy, "finished 5 s late: refused")
	clock = clock.Add(2 * time.Second)
	assert.ErrorIs(t, run(), ErrBusy, "still refused while that report is recent")

	clock = clock.Add(2 * time.Second)
	assert.NoError(t, run(), "no report for longer than the limit: the backlog drained, open again")

	l.Finished(clock.Add(-4 * time.Second))
	assert.ErrorIs(t, run(), ErrBusy)
	l.Finished(clock.Add(-time.Second))
	assert.NoError(t, run(), "the latest report counts, not the worst")
}

func TestLagOfZeroNeverRefuses(t *testing.T) {
	l := NewLag(0)
	l.Finished(time.Now().Add(-time.Hour))
	assert.False(t, l.Behind())
}
