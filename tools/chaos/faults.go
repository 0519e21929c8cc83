package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/qeetmart/qeetmart/internal/stack"
)

// fault is one injected fault and how the platform took it.
type fault struct {
	at        time.Duration // since the workload began
	what      string
	err       error         // the injection itself failed
	recovered time.Duration // until the gateway reported every service healthy again; 0: not before the next fault
	window    time.Duration // the time it was judged over (until the next fault)
}

// inject runs a fault every interval until ctx ends, each kind once a
// round in an order rng shuffles, on an app rng picks, from every kind the
// issue names that a stack on one host can suffer:
// kill -9 of an app, of a sidecar, a sidecar paused (SIGSTOP) for 3 s, and
// restarts of Redis (its data gone) and of Sentry. It returns the faults
// in order; the schedule depends only on rng.
func inject(ctx context.Context, s *stack.Stack, c *client, rng *rand.Rand, interval time.Duration, start time.Time, log io.Writer) []fault {
	// A restart must finish even if the run ends meanwhile: a Redis left
	// dead is not a fault the platform can recover from by itself.
	restartCtx := context.WithoutCancel(ctx)
	kinds := []func(app string) (string, func() error){
		func(app string) (string, func() error) {
			return "kill -9 " + app, func() error { return s.KillApp(app) }
		},
		func(app string) (string, func() error) {
			return "kill -9 " + app + "'s sidecar", func() error { return s.KillSidecar(app) }
		},
		func(app string) (string, func() error) {
			return "pause " + app + "'s sidecar for 3 s", func() error {
				resume, err := s.PauseSidecar(app)
				if err != nil {
					return err
				}
				time.Sleep(3 * time.Second)
				return resume()
			}
		},
		func(string) (string, func() error) {
			return "restart Redis (empty)", func() error { return s.RestartRedis(restartCtx) }
		},
		func(string) (string, func() error) {
			return "restart Sentry", func() error { return s.RestartSentry(restartCtx) }
		},
	}
	var faults []fault
	// Kinds come in rounds, each round every kind once in a shuffled
	// order, so even a short run suffers each.
	var order []int
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return faults
		case <-tick.C:
		}
		if ctx.Err() != nil {
			return faults
		}
		if len(order) == 0 {
			order = rng.Perm(len(kinds))
		}
		app := stack.Apps[rng.IntN(len(stack.Apps))]
		what, do := kinds[order[0]](app)
		order = order[1:]
		f := fault{at: time.Since(start), what: what, err: do()}
		fmt.Fprintf(log, "%6.1fs  %s\n", f.at.Seconds(), what)
		began := time.Now()
		waitCtx, cancel := context.WithTimeout(ctx, interval-time.Second)
		if c.waitHealthy(waitCtx, interval) == nil {
			f.recovered = time.Since(began)
		}
		cancel()
		f.window = interval
		faults = append(faults, f)
	}
}
