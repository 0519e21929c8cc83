package main

import (
	"context"
	"errors"
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
	recovered time.Duration // from its start until it was over and the gateway reported every service healthy; 0: not before the next tick
	window    time.Duration // from its start until the next fault (or the end of the run)
}

// inject runs a fault every interval until ctx ends, each kind once a
// round in an order rng shuffles, on the apps in rounds too, from every kind the
// issue names that a stack on one host can suffer: kill -9 of an app, of a
// sidecar, a sidecar paused (SIGSTOP) for 3 s, Redis killed and restarted
// with and without its data, a crash-restart of PostgreSQL and a restart
// of Sentry, and a gateway replica added and, after taking traffic,
// removed. It returns the faults in order; the schedule depends only on
// rng.
func inject(ctx context.Context, s *stack.Stack, c *client, rng *rand.Rand, interval time.Duration, start time.Time, log io.Writer) []fault {
	// A restart must finish even if the run ends meanwhile: a Redis left
	// dead is not a fault the platform can recover from by itself.
	restartCtx := context.WithoutCancel(ctx)
	replicas := 0
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
			return "kill -9 Redis, restart it empty", func() error { return s.RestartRedis(restartCtx, false) }
		},
		func(string) (string, func() error) {
			return "kill -9 Redis, restart it with its data", func() error { return s.RestartRedis(restartCtx, true) }
		},
		func(string) (string, func() error) {
			return "crash-restart PostgreSQL", func() error { return s.RestartPostgres(restartCtx) }
		},
		func(string) (string, func() error) {
			return "restart Sentry", func() error { return s.RestartSentry(restartCtx) }
		},
		func(string) (string, func() error) {
			replicas++
			return "add a gateway replica, remove it after 3 s", func() error {
				return scaleGateway(restartCtx, s, c, fmt.Sprint(replicas), 3*time.Second)
			}
		},
	}
	var faults []fault
	// Kinds come in rounds, each round every kind once in a shuffled
	// order, so even a short run suffers each; the apps a kind hits come in
	// rounds of their own, so a long run kills every app and every sidecar.
	var order []int
	apps := map[int][]int{}
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
		kind := order[0]
		if len(apps[kind]) == 0 {
			apps[kind] = rng.Perm(len(stack.Apps))
		}
		app := stack.Apps[apps[kind][0]]
		apps[kind] = apps[kind][1:]
		what, do := kinds[kind](app)
		order = order[1:]
		began := time.Now()
		fmt.Fprintf(log, "%6.1fs  %s\n", began.Sub(start).Seconds(), what)
		f := fault{at: began.Sub(start), what: what, err: do()}
		waitCtx, cancel := context.WithTimeout(ctx, interval-time.Second)
		if c.waitHealthy(waitCtx, interval) == nil {
			f.recovered = time.Since(began)
		} else if ctx.Err() != nil {
			f.recovered = -1 // the run ended first; the final checks wait for health
		}
		cancel()
		if n := len(faults); n > 0 {
			faults[n-1].window = f.at - faults[n-1].at
		}
		f.window = interval
		if end, ok := ctx.Deadline(); ok {
			f.window = end.Sub(began)
		}
		faults = append(faults, f)
	}
}

// scaleGateway adds a gateway replica, puts it in the client's rotation for
// a while, then takes it out and stops it, as a scale-out and scale-in
// behind a load balancer would.
func scaleGateway(ctx context.Context, s *stack.Stack, c *client, replica string, serving time.Duration) error {
	ports, err := stack.FreePorts()
	if err != nil {
		return err
	}
	name, err := s.AddReplica(ctx, "gateway", replica, ports)
	if err != nil {
		return errors.Join(err, s.RemoveReplica(name))
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", ports.App)
	c.addGateway(base)
	time.Sleep(serving)
	c.removeGateway(base)
	return s.RemoveReplica(name)
}
