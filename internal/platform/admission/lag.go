package admission

import (
	"sync"
	"time"
)

// Lag watches work that finishes after its request has been answered,
// elsewhere (messages a sidecar relays after a write commits), by how late
// each piece finishes. A gate refusing while it is Behind keeps that
// backlog bounded: a write's answer does not wait for its relay, so
// without this a fast client can build a backlog that takes the machine
// long after the writes themselves were answered.
//
// Only the latest report counts, and only while it is recent: once the
// gate has refused long enough for the backlog to drain, reports stop
// (there is nothing left to finish) and the gate opens again.
type Lag struct {
	limit time.Duration
	now   func() time.Time

	mu     sync.Mutex
	latest time.Duration
	at     time.Time
}

// NewLag is behind while the latest report, at most limit old, was later
// than limit. A limit of 0 never is.
func NewLag(limit time.Duration) *Lag { return &Lag{limit: limit, now: time.Now} }

// Finished reports a piece of work that finished now, started at started.
func (l *Lag) Finished(started time.Time) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latest, l.at = now.Sub(started), now
}

// Behind is whether new work should wait: the latest report, if recent,
// was later than the limit.
func (l *Lag) Behind() bool {
	if l.limit <= 0 {
		return false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest > l.limit && now.Sub(l.at) <= l.limit
}
