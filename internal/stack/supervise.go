package stack

import (
	"context"
	"log/slog"
	"time"
)

// Restart backoff, as Kubernetes restarts a crashed container: the first
// restart after a second, each next one after twice as long up to a cap,
// and a process that then stays up for resetAfter starts over at a second.
// resetAfter is short (supervisord's startsecs, not Kubernetes' ten
// minutes): what it tells apart is a process that cannot start (it backs
// off) from one that ran and was killed (back at once). With a minute, a
// 10-minute chaos run that killed each app every half minute or so kept
// the gateway waiting 30 s for its restart, and most calls failed.
const (
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
	resetAfter   = 10 * time.Second
)

// Supervise restarts every app or sidecar that exits while ctx lasts, with
// backoff, logging each exit and restart, so a stack on one machine comes
// back from a crash without a person. Only the process that exited is
// started again (StartApp leaves a running partner alone). Cancel ctx before
// Stop, or Stop's own exits would be restarted.
func (s *Stack) Supervise(ctx context.Context, log *slog.Logger) {
	type restarts struct {
		backoff time.Duration
		due     time.Time // when the next start may happen
		started time.Time
	}
	state := map[string]*restarts{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		for name, exited := range s.exitedProcesses() {
			r := state[name]
			if r == nil {
				r = &restarts{backoff: firstBackoff}
				state[name] = r
			}
			if r.due.IsZero() {
				if !r.started.IsZero() && now.Sub(r.started) >= resetAfter {
					r.backoff = firstBackoff
				}
				r.due = now.Add(r.backoff)
				log.Warn("process exited; restarting", "app", name, "exited", exited, "in", r.backoff)
				continue
			}
			if now.Before(r.due) {
				continue
			}
			if err := s.StartApp(name); err != nil {
				log.Error("restart failed", "app", name, "err", err)
			} else {
				log.Info("restarted", "app", name, "after", r.backoff)
			}
			r.started, r.due = now, time.Time{}
			r.backoff = min(2*r.backoff, maxBackoff)
		}
	}
}

// exitedProcesses names each app whose app or sidecar process has ended,
// with what ended.
func (s *Stack) exitedProcesses() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for name, n := range s.nodes {
		for _, p := range []*process{n.daprd, n.app} {
			if p != nil && p.exited() {
				out[name] = p.name + ": " + exitStatus(p)
			}
		}
	}
	return out
}

func exitStatus(p *process) string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}
