package domain

import "time"

// ThrottlePolicy says how failed logins slow down further attempts: after
// Threshold failures, each new failure locks for Base, doubling, up to Max.
// A quiet Window forgets the failures. Max stays short for accounts, so an
// attacker who knows an email cannot lock its owner out for long, while a
// password guesser gets a handful of tries per minute.
type ThrottlePolicy struct {
	Threshold int
	Base, Max time.Duration
	Window    time.Duration
}

// Throttle is the failure record of one account or one client address.
type Throttle struct {
	Failures    int       `json:"failures"`
	LockedUntil time.Time `json:"lockedUntil,omitzero"`
}

// Wait is how long attempts are refused from now; zero when they are not.
func (t Throttle) Wait(now time.Time) time.Duration {
	if wait := t.LockedUntil.Sub(now); wait > 0 {
		return wait
	}
	return 0
}

// Fail records a failed attempt at now.
func (t *Throttle) Fail(now time.Time, p ThrottlePolicy) {
	t.Failures++
	over := t.Failures - p.Threshold
	if over < 0 {
		return
	}
	lock := p.Max
	if over < 32 && p.Base<<over < p.Max && p.Base<<over > 0 {
		lock = p.Base << over
	}
	t.LockedUntil = now.Add(lock)
}

// Keep is how long the record must outlive now: its lock, then a quiet
// window.
func (t Throttle) Keep(now time.Time, p ThrottlePolicy) time.Duration {
	return t.Wait(now) + p.Window
}
