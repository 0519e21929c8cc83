package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// inFlight bounds the upstream calls the gateway has open, per app and in
// all. Past a bound a request is shed at once (503 SERVICE_BUSY with
// Retry-After), before it reaches a sidecar: the gateway refuses what it
// cannot serve instead of queueing it, so the requests it accepts keep
// their latency, and one slow service cannot take every slot from the
// others. The bound of each app in UPSTREAM_ADAPTIVE_APPS adapts to the
// latency of its calls (admission.Adaptive, up to the configured bound): a
// fixed one is either too high to stop queueing in the sidecars or too low
// to use them. A call holds its slots until its answer is read, or, for an
// answer streamed to the client, until the stream starts.
type inFlight struct {
	all   *admission.Gate
	byApp map[string]*admission.Adaptive
}

// newInFlight bounds the calls to apps to perApp each, adapting below it
// for those named in adaptive, and all in all; a bound of 0 or less is
// none.
func newInFlight(apps []string, all, perApp int, adaptive []string) *inFlight {
	f := &inFlight{byApp: map[string]*admission.Adaptive{}}
	if all > 0 {
		f.all = admission.New(all, 0)
	}
	if perApp <= 0 {
		return f
	}
	for _, app := range apps {
		opts := admission.AdaptiveOptions{Initial: perApp, Min: perApp, Max: perApp}
		if slices.Contains(adaptive, app) {
			// It starts at the bound, so that no burst is refused before
			// anything was measured, and falls within a second of calls
			// queueing.
			opts.Min = min(adaptiveFloor, perApp)
		}
		f.byApp[app] = admission.NewAdaptive(opts)
	}
	return f
}

// adaptiveFloor is the least an app's adaptive bound falls to. Below
// about 16 calls open the two sidecars cannot reach their throughput on
// this machine; measured (docs/benchmarks.md#shedding-under-overload-issue-14-item-3):
// a floor of 4 kept the answered p99 at 2,000 req/s at 3.5× the unloaded
// one but let 50 clients through at 640/s, 16 gave 2.25× and 1,192/s, 24
// gave 4.0× and 1,304/s.
const adaptiveFloor = 16

// admit runs call in a slot of app's and one of all; when either has none
// free it returns the busy answer without calling.
func (f *inFlight) admit(app string, call func() error) error {
	done := func(time.Duration, bool) {}
	if limit := f.byApp[app]; limit != nil {
		var ok bool
		if done, ok = limit.Acquire(); !ok {
			return busy(app)
		}
	}
	start := time.Now()
	err := within(f.all, call)
	// A call cut off by its client, or refused by the overall bound, says
	// nothing about how long the app takes.
	done(time.Since(start), !errors.Is(err, context.Canceled) && !errors.Is(err, admission.ErrBusy))
	if errors.Is(err, admission.ErrBusy) {
		return busy(app)
	}
	return err
}

func busy(app string) error {
	return web.NewError(http.StatusServiceUnavailable, web.CodeBusy,
		fmt.Sprintf("Too many requests in progress for service %s; try again shortly", app)).WithRetryAfter(time.Second)
}

// within runs call in one of g's slots (at once: the gate has no queue),
// or simply runs it when g is nil.
func within(g *admission.Gate, call func() error) error {
	if g == nil {
		return call()
	}
	return g.Run(context.Background(), call)
}
