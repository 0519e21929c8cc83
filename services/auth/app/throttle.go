package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// ThrottledError refuses a login while its account or address is locked.
type ThrottledError struct{ RetryAfter time.Duration }

func (e ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: retry after %s", e.RetryAfter)
}

// gate is one login attempt's view of its two throttles.
type gate struct {
	a        *Auth
	subjects []throttled
}

type throttled struct {
	subject string
	scope   string // account or address
	policy  domain.ThrottlePolicy
	record  domain.Throttle
	etag    string
}

// throttleGate refuses the attempt while the account or the address is
// locked, before any password work is done.
func (a *Auth) throttleGate(ctx context.Context, email, ip string) (*gate, error) {
	g := &gate{a: a, subjects: []throttled{{subject: "account:" + email, scope: "account", policy: a.AccountThrottle}}}
	if ip != "" {
		g.subjects = append(g.subjects, throttled{subject: "ip:" + ip, scope: "address", policy: a.AddressThrottle})
	}
	now := a.Now()
	var wait time.Duration
	for i := range g.subjects {
		t := &g.subjects[i]
		var err error
		if t.record, t.etag, err = a.Store.Throttle(ctx, t.subject); err != nil {
			return nil, err
		}
		wait = max(wait, t.record.Wait(now))
	}
	if wait > 0 {
		return nil, ThrottledError{RetryAfter: wait}
	}
	return g, nil
}

// fail records a failed attempt on each subject. The record is a
// compare-and-set on its ETag: a write that lost the race re-reads the
// record and counts again, so concurrent failures are all counted.
func (g *gate) fail(ctx context.Context) error {
	for _, t := range g.subjects {
		if err := g.a.countFailure(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// maxThrottleAttempts bounds the compare-and-set loop; each lost round means
// another failure was counted, so running out takes a flood far beyond the
// hashing cap.
const maxThrottleAttempts = 16

func (a *Auth) countFailure(ctx context.Context, t throttled) error {
	record, etag := t.record, t.etag
	for range maxThrottleAttempts {
		now := a.Now()
		record.Fail(now, t.policy)
		err := a.Store.SaveThrottle(ctx, t.subject, record, etag, record.Keep(now, t.policy))
		if err == nil && record.Wait(now) > 0 && a.Locked != nil {
			a.Locked(t.scope)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if record, etag, err = a.Store.Throttle(ctx, t.subject); err != nil {
			return err
		}
	}
	return fmt.Errorf("count failed login of %s: %w", t.subject, ErrBusy)
}

// succeed clears the account's failures; the address keeps its record, so
// one good password does not reset a sprayer's count.
func (g *gate) succeed(ctx context.Context) {
	account := g.subjects[0]
	if account.record.Failures == 0 {
		return
	}
	if err := g.a.Store.ForgetThrottle(ctx, account.subject); err != nil {
		g.a.Log.WarnContext(ctx, "clearing login failures", "err", err)
	}
}
