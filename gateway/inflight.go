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

// newInFlight bounds the calls to apps to perApp each, adapting between
// floor and perApp for those named in adaptive, and all in all; a bound
// of 0 or less is none.
func newInFlight(apps []string, all, perApp int, adaptive []string, floor int) *inFlight {
	f := &inFlight{byApp: map[string]*admission.Adaptive{}}
	if all > 0 {
		f.all = admission.New(all, 0)
	}
	if perApp <= 0 {
		return f
	}
	for _, app := range apps {
		f.byApp[app] = admission.NewAdaptive(boundOptions(perApp, floor, slices.Contains(adaptive, app)))
	}
	return f
}

// boundOptions shape one app's bound: fixed at perApp, or, adaptive,
// starting there, so that no burst is refused before anything was
// measured, and falling within a second of calls queueing, down to floor
// at most (perApp when lower).
func boundOptions(perApp, floor int, adaptive bool) admission.AdaptiveOptions {
	opts := admission.AdaptiveOptions{Initial: perApp, Min: perApp, Max: perApp}
	if adaptive {
		opts.Min = min(floor, perApp)
	}
	return opts
}

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
