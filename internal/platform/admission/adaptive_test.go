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
		dones := fill(a)
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

// fill takes every slot the limit has, and returns what gives them back.
func fill(a *Adaptive) []func(time.Duration, bool) {
	var dones []func(time.Duration, bool)
	for {
		done, ok := a.Acquire()
		if !ok {
			return dones
		}
		dones = append(dones, done)
	}
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

// A limit that starts at its maximum (nothing refused before anything was
// measured) comes down within a second of calls queueing: by up to half
// a window, not a fifth of that.
func TestAdaptiveFallsAtOnceFromItsMaximum(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	a := NewAdaptive(AdaptiveOptions{Initial: 512, Min: 16, Max: 512, Now: clock.Now})
	// full fills the limit and ends the window with the last call, so that
	// every call of it counts.
	full := func(latency time.Duration) int {
		dones := fill(a)
		require.GreaterOrEqual(t, len(dones), 10)
		for _, done := range dones[1:] {
			done(latency, true)
		}
		clock.now = clock.now.Add(100 * time.Millisecond)
		dones[0](latency, true)
		return a.Limit()
	}
	require.Equal(t, 512, full(2*time.Millisecond), "the baseline: 2 ms")
	assert.LessOrEqual(t, full(40*time.Millisecond), 512/2+23, "one window of queueing halves it")
	for range 8 {
		full(40 * time.Millisecond)
	}
	assert.Equal(t, 16, a.Limit(), "ten windows bring it to its floor")
}
