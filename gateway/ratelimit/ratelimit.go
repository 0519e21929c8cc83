// Package ratelimit holds token buckets per key (a client IP or a user id),
// and says what the RateLimit headers should tell the client. Plain Go.
//
// State is per gateway process: with N replicas behind a load balancer a
// client gets up to N times the budget (see docs/gateway.md).
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Policy is a refill rate and a bucket size.
type Policy struct {
	PerSecond float64
	Burst     int
}

// Decision is the outcome of one request against its bucket.
type Decision struct {
	Allowed    bool
	Limit      int           // the bucket size
	Remaining  int           // whole tokens left
	Reset      time.Duration // until the bucket is full again
	RetryAfter time.Duration // until the next token, when not allowed
}

// Limiter is a set of buckets under one policy.
type Limiter struct {
	policy Policy
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a limiter with policy.
func New(p Policy) *Limiter {
	return &Limiter{policy: p, now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket, if there is one.
func (l *Limiter) Allow(key string) Decision {
	now := l.now()
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.policy.PerSecond), l.policy.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	allowed := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	l.mu.Unlock()

	d := Decision{
		Allowed:   allowed,
		Limit:     l.policy.Burst,
		Remaining: max(0, int(math.Floor(tokens))),
		Reset:     l.seconds(float64(l.policy.Burst) - tokens),
	}
	if !allowed {
		d.RetryAfter = l.seconds(1 - tokens)
	}
	return d
}

func (l *Limiter) seconds(tokens float64) time.Duration {
	if tokens <= 0 || l.policy.PerSecond <= 0 {
		return 0
	}
	return time.Duration(tokens / l.policy.PerSecond * float64(time.Second))
}

// Sweep drops buckets unused for idle; a full bucket and a missing one are
// the same to a client, so memory stays bounded by active clients.
func (l *Limiter) Sweep(idle time.Duration) {
	cutoff := l.now().Add(-idle)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		if b.seen.Before(cutoff) {
			delete(l.buckets, k)
		}
	}
}
