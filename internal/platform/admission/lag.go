package admission

import (
	"sync"
	"time"
)

// Lag watches work that is finished after its request has been answered
// (events a relay publishes after their write commits) by the age of the
// oldest piece still pending. A gate refusing while it is Behind keeps that
// backlog bounded: a write's answer does not wait for its relay, so without
// this a fast client could build a backlog faster than the relay drains it.
//
// Reports come from whoever sees the backlog (the relay's passes); only
// the latest counts, and only while it is recent, so a relay that stopped
// reporting does not keep the gate shut.
type Lag struct {
	limit time.Duration
	now   func() time.Time

	mu     sync.Mutex
	oldest time.Time // zero: nothing pending
	at     time.Time
}

// NewLag is behind while the oldest pending piece, as last reported at
// most limit ago, is older than limit. A limit of 0 never is.
func NewLag(limit time.Duration) *Lag { return &Lag{limit: limit, now: time.Now} }

// Pending reports the start of the oldest piece of work not yet finished;
// zero means none is.
func (l *Lag) Pending(oldest time.Time) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.oldest, l.at = oldest, now
}

// Behind is whether new work should wait.
func (l *Lag) Behind() bool {
	if l.limit <= 0 {
		return false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.oldest.IsZero() && now.Sub(l.at) <= l.limit && now.Sub(l.oldest) > l.limit
}

// Age is how old the oldest pending piece was at the latest report, if
// that report is recent (0 otherwise): for a metric.
func (l *Lag) Age() time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.oldest.IsZero() || now.Sub(l.at) > max(l.limit, time.Minute) {
		return 0
	}
	return l.at.Sub(l.oldest)
}
