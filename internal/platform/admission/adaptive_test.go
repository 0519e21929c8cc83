package admission

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock moves only when told.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// windows runs n windows in which the limit is filled and every call takes
// latency (measured or not), and returns the limit after them.
func windows(t *testing.T, a *Adaptive, clock *fakeClock, n int, latency time.Duration, measured bool) int {
	t.Helper()
	for range n {
		var dones []func(time.Duration, bool)
		for {
			done, ok := a.Acquire()
			if !ok {
				break
			}
			dones = append(dones, done)
		}
		require.NotEmpty(t, dones)
		for len(dones) < 10 { // a window needs 10 calls
			dones = append(dones, dones[0])
		}
		clock.now = clock.now.Add(100 * time.Millisecond)
		for _, done := range dones {
			done(latency, measured)
		}
		a.mu.Lock()
		a.inFlight = 0 // the padding calls gave back slots they never took
		a.mu.Unlock()
	}
	return a.Limit()
}

func TestAdaptiveGrowsWhileLatencyHolds(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	a := NewAdaptive(AdaptiveOptions{Initial: 10, Max: 200, Now: clock.Now})
	assert.Greater(t, windows(t, a, clock, 30, 2*time.Millisecond, true), 30)
	assert.Equal(t, 200, windows(t, a, clock, 200, 2*time.Millisecond, true), "up to its maximum")
}

func TestAdaptiveShrinksWhenCallsQueue(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	a := NewAdaptive(AdaptiveOptions{Initial: 100, Max: 200, Now: clock.Now})
	windows(t, a, clock, 5, 2*time.Millisecond, true) // the baseline: 2 ms
	before := a.Limit()
	after := windows(t, a, clock, 20, 10*time.Millisecond, true)
	assert.Less(t, after, before/3, "five times the baseline: the limit falls")
	assert.GreaterOrEqual(t, after, 4, "never below its minimum")
	// Within tolerance (2×) it grows again.
	assert.Greater(t, windows(t, a, clock, 20, 3*time.Millisecond, true), after)
}

func TestAdaptiveRefusesPastTheLimitAtOnce(t *testing.T) {
	a := NewAdaptive(AdaptiveOptions{Initial: 4, Min: 4})
	var dones []func(time.Duration, bool)
	for range 4 {
		done, ok := a.Acquire()
		require.True(t, ok)
		dones = append(dones, done)
	}
	_, ok := a.Acquire()
	assert.False(t, ok)
	dones[0](time.Millisecond, true)
	_, ok = a.Acquire()
	assert.True(t, ok, "a slot given back is free again")
}

// Calls cut off (a client that went away) and windows the limit did not
// bound teach it nothing.
func TestAdaptiveIgnoresWhatSaysNothingOfLatency(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	a := NewAdaptive(AdaptiveOptions{Initial: 50, Now: clock.Now})
	windows(t, a, clock, 5, 2*time.Millisecond, true)
	limit := a.Limit()
	assert.Equal(t, limit, windows(t, a, clock, 20, time.Second, false), "cancelled calls")

	oneAtATime := func(n int) {
		for range n {
			for range 10 {
				done, ok := a.Acquire()
				require.True(t, ok)
				clock.now = clock.now.Add(20 * time.Millisecond)
				done(time.Second, true)
			}
		}
	}
	oneAtATime(1) // the window the earlier calls were still in
	limit = a.Limit()
	oneAtATime(20)
	assert.Equal(t, limit, a.Limit(), "demand below half the limit")
}
