package admission

import (
	"math"
	"sync"
	"time"
)

// Adaptive is a concurrency limit that follows latency: a gradient
// limiter, as Envoy's adaptive concurrency filter and Netflix's
// concurrency-limits are. A fixed bound is either too high to stop
// queueing where the work is done or too low to use what that place can
// do; this one measures. Each window it compares the calls' mean latency
// with the lowest window mean of the last Baseline (what a call costs
// without a queue): while the recent one stays within Tolerance of it, the
// limit grows by a fifth of its square root a window; past that it
// shrinks in proportion at once (at most by half a window), so the calls
// admitted keep their latency and the rest are refused at once. The
// baseline is a minimum over a sliding span, not a long-run average, so a
// slow rise in queueing cannot raise it with itself; a service that really
// became slower raises it within a span.
type Adaptive struct {
	mu       sync.Mutex
	limit    float64
	inFlight int
	opts     AdaptiveOptions

	window  time.Time // when the current window began
	sum     time.Duration
	samples int
	peak    int // the most in flight during the window

	// The baseline is the lower of two halves' minimum window means: the
	// half being filled and the one before it.
	half            time.Time
	lowest, earlier time.Duration
}

// AdaptiveOptions shape an Adaptive limit; zero fields take the defaults.
type AdaptiveOptions struct {
	Initial, Min, Max int
	// Tolerance is how much slower than the baseline a window's calls may
	// be on average before the limit shrinks (above 1; default 2).
	Tolerance float64
	// Window is how often the limit moves (default 100 ms; a window needs
	// 10 calls at least).
	Window time.Duration
	// Baseline is how far back the lowest window mean is remembered
	// (default 30 s).
	Baseline time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// NewAdaptive returns a limit starting at opts.Initial (default 20),
// between opts.Min (default 4) and opts.Max (default 1,000).
func NewAdaptive(opts AdaptiveOptions) *Adaptive {
	if opts.Min <= 0 {
		opts.Min = 4
	}
	if opts.Max <= 0 {
		opts.Max = 1000
	}
	opts.Max = max(opts.Max, opts.Min)
	if opts.Initial <= 0 {
		opts.Initial = 20
	}
	opts.Initial = min(max(opts.Initial, opts.Min), opts.Max)
	if opts.Tolerance <= 1 {
		opts.Tolerance = 2
	}
	if opts.Window <= 0 {
		opts.Window = 100 * time.Millisecond
	}
	if opts.Baseline <= 0 {
		opts.Baseline = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	return &Adaptive{limit: float64(opts.Initial), opts: opts, window: now, half: now}
}

// Limit is how many calls may be in flight now.
func (a *Adaptive) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.limit)
}

// Acquire takes a slot, or reports false at once when every slot is
// taken. done gives it back: with measured true and the call's latency
// when the call ran to its end, with measured false when it was cut off
// (a client that went away says nothing about the latency).
func (a *Adaptive) Acquire() (done func(latency time.Duration, measured bool), ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight >= int(a.limit) {
		return nil, false
	}
	a.inFlight++
	a.peak = max(a.peak, a.inFlight)
	return a.release, true
}

func (a *Adaptive) release(latency time.Duration, measured bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inFlight--
	if !measured {
		return
	}
	a.sum += latency
	a.samples++
	if now := a.opts.Now(); a.samples >= 10 && now.Sub(a.window) >= a.opts.Window {
		a.update(now)
		a.window, a.sum, a.samples, a.peak = now, 0, 0, a.inFlight
	}
}

// update moves the limit by the window's mean latency.
func (a *Adaptive) update(now time.Time) {
	recent := a.sum / time.Duration(a.samples)
	if now.Sub(a.half) >= a.opts.Baseline/2 {
		a.half, a.earlier, a.lowest = now, a.lowest, 0
	}
	if a.lowest == 0 || recent < a.lowest {
		a.lowest = recent
	}
	baseline := a.lowest
	if a.earlier != 0 && a.earlier < baseline {
		baseline = a.earlier
	}
	if a.peak < int(a.limit)/2 {
		return // the work, not the limit, set the pace: nothing learnt
	}
	gradient := math.Max(0.5, math.Min(1, a.opts.Tolerance*float64(baseline)/float64(recent)))
	next := a.limit*gradient + math.Sqrt(a.limit)
	if next > a.limit {
		// It grows gently but falls at once (by up to half a window): a
		// limit that starts high, so that no burst is refused before
		// anything was measured, comes down to size within a second of
		// calls queueing.
		next = 0.8*a.limit + 0.2*next
	}
	a.limit = math.Min(float64(a.opts.Max), math.Max(float64(a.opts.Min), next))
}
