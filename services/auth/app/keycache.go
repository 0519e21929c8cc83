package app

import (
	"context"
	"sync"
	"time"

	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// keyCache keeps the key ring in memory for a short while: every login and
// refresh needs it, and it changes only when keys rotate. A rotated-in key
// is published KeyActivationDelay before it signs, so a cache younger than
// that delay never misses a key that signs or verifies.
type keyCache struct {
	mu        sync.Mutex
	ring      domain.KeyRing
	fetchedAt time.Time
	loaded    bool
}

// keyRing is the ring as of at most keyCacheTTL ago.
func (a *Auth) keyRing(ctx context.Context) (domain.KeyRing, error) {
	a.keys.mu.Lock()
	defer a.keys.mu.Unlock()
	now := a.Now()
	if a.keys.loaded && now.Sub(a.keys.fetchedAt) < a.keyCacheTTL() {
		return a.keys.ring, nil
	}
	ring, _, err := a.Store.KeyRing(ctx)
	if err != nil {
		return ring, err
	}
	a.keys.ring, a.keys.fetchedAt, a.keys.loaded = ring, now, true
	return ring, nil
}

// forgetKeys makes the next keyRing read the store (after this replica
// changed the ring).
func (a *Auth) forgetKeys() {
	a.keys.mu.Lock()
	a.keys.loaded = false
	a.keys.mu.Unlock()
}

// keyCacheTTL stays well inside the activation delay.
func (a *Auth) keyCacheTTL() time.Duration {
	return min(5*time.Second, a.KeyActivationDelay/2)
}
