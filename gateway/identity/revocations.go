package identity

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
)

// Revocation is one event from auth (the shared contract).
type Revocation = authtoken.Revocation

// Revocations is the gateway's in-memory revocation list. Events keep it
// current; CatchUp fills in what events cannot: those sent before the
// replica started and since trimmed, or lost with the pub/sub's storage.
type Revocations struct {
	now func() time.Time
	// caughtUp is false while a list made by NewRevocationsToCatchUp has not
	// caught up yet; until then it cannot tell a revoked token (CaughtUp).
	caughtUp atomic.Bool

	mu       sync.RWMutex
	sessions map[string]time.Time // session id -> entry expiry
	users    map[string]userCutoff
}

type userCutoff struct {
	notBefore, expires time.Time
}

// NewRevocations returns an empty list with nothing to catch up on.
func NewRevocations() *Revocations {
	l := &Revocations{now: time.Now, sessions: map[string]time.Time{}, users: map[string]userCutoff{}}
	l.caughtUp.Store(true)
	return l
}

// NewRevocationsToCatchUp returns an empty list that knows it may have
// missed revocations: until its first CatchUp the verifier accepts no
// token (a replica starting afresh must not honour one revoked before it
// began).
func NewRevocationsToCatchUp() *Revocations {
	l := NewRevocations()
	l.caughtUp.Store(false)
	return l
}

// CatchUp applies every revocation in force, as auth lists them.
func (l *Revocations) CatchUp(inForce []Revocation) {
	for _, r := range inForce {
		l.Apply(r)
	}
	l.caughtUp.Store(true)
}

// CaughtUp reports whether the list can be trusted to name every revoked
// token.
func (l *Revocations) CaughtUp() bool { return l.caughtUp.Load() }

// Apply records r. Applying the same event twice is harmless (delivery is
// at-least-once), and so is applying events out of order.
func (l *Revocations) Apply(r Revocation) {
	if !r.ExpiresAt.After(l.now()) {
		return // nothing left to void
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range r.SessionIDs {
		if r.ExpiresAt.After(l.sessions[id]) {
			l.sessions[id] = r.ExpiresAt
		}
	}
	if r.UserID != "" && !r.NotBefore.IsZero() {
		cur := l.users[r.UserID]
		if r.NotBefore.After(cur.notBefore) {
			cur.notBefore = r.NotBefore
		}
		if r.ExpiresAt.After(cur.expires) {
			cur.expires = r.ExpiresAt
		}
		l.users[r.UserID] = cur
	}
}

// Revoked reports whether a token of userID and sessionID, issued at
// issuedAt, has been revoked.
func (l *Revocations) Revoked(userID, sessionID string, issuedAt time.Time) bool {
	now := l.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if exp, ok := l.sessions[sessionID]; ok && sessionID != "" && exp.After(now) {
		return true
	}
	if cut, ok := l.users[userID]; ok && cut.expires.After(now) && issuedAt.Before(cut.notBefore) {
		return true
	}
	return false
}

// Sweep forgets entries that can no longer void any token.
func (l *Revocations) Sweep() {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, exp := range l.sessions {
		if !exp.After(now) {
			delete(l.sessions, id)
		}
	}
	for id, cut := range l.users {
		if !cut.expires.After(now) {
			delete(l.users, id)
		}
	}
}
