package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// inFlight bounds the upstream calls the gateway has open, per app and in
// all. Past a bound a request is shed at once (503 SERVICE_BUSY with
// Retry-After), before it reaches a sidecar: the gateway refuses what it
// cannot serve instead of queueing it, so the requests it accepts keep
// their latency, and one slow service cannot take every slot from the
// others. A call holds its slots until its answer is read, or, for an
// answer streamed to the client, until the stream starts.
type inFlight struct {
	all   *admission.Gate
	byApp map[string]*admission.Gate
}

// newInFlight bounds the calls to apps to perApp each and all in all; a
// bound of 0 or less is none.
func newInFlight(apps []string, all, perApp int) *inFlight {
	f := &inFlight{all: bound(all), byApp: map[string]*admission.Gate{}}
	for _, app := range apps {
		f.byApp[app] = bound(perApp)
	}
	return f
}

// bound is a gate of n slots and no queue, or nil for no bound.
func bound(n int) *admission.Gate {
	if n <= 0 {
		return nil
	}
	return admission.New(n, 0)
}

// admit runs call in a slot of app's and one of all; when either has none
// free it returns the busy answer without calling.
func (f *inFlight) admit(app string, call func() error) error {
	err := within(f.byApp[app], func() error { return within(f.all, call) })
	if errors.Is(err, admission.ErrBusy) {
		return web.NewError(http.StatusServiceUnavailable, web.CodeBusy,
			fmt.Sprintf("Too many requests in progress for service %s; try again shortly", app)).WithRetryAfter(time.Second)
	}
	return err
}

// within runs call in one of g's slots (at once: the gates have no queue),
// or simply runs it when g is nil.
func within(g *admission.Gate, call func() error) error {
	if g == nil {
		return call()
	}
	return g.Run(context.Background(), call)
}
