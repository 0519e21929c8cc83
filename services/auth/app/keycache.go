package app

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// keyCache keeps the key ring in memory for a short while: every login and
// refresh needs it, and it changes only when keys rotate. A rotated-in key
// is published KeyActivationDelay before it signs, so a cache younger than
// that delay never misses a key that signs or verifies.
type keyCache struct {
	mu        sync.Mutex // guards the fields below, never held over a call
	ring      domain.KeyRing
	fetchedAt time.Time
	loaded    bool
	fetch     singleflight.Group // one store read for every waiting caller
}

// keyRing is the ring as of at most keyCacheTTL ago.
func (a *Auth) keyRing(ctx context.Context) (domain.KeyRing, error) {
	if ring, ok := a.cachedRing(); ok {
		return ring, nil
	}
	v, err, _ := a.keys.fetch.Do("ring", func() (any, error) {
		ring, _, err := a.Store.KeyRing(ctx)
		if err != nil {
			return ring, err
		}
		a.keys.mu.Lock()
		a.keys.ring, a.keys.fetchedAt, a.keys.loaded = ring, a.Now(), true
		a.keys.mu.Unlock()
		return ring, nil
	})
	if err != nil {
		return domain.KeyRing{}, err
	}
	return v.(domain.KeyRing), nil
}

func (a *Auth) cachedRing() (domain.KeyRing, bool) {
	a.keys.mu.Lock()
	defer a.keys.mu.Unlock()
	if a.keys.loaded && a.Now().Sub(a.keys.fetchedAt) < a.keyCacheTTL() {
		return a.keys.ring, true
	}
	return domain.KeyRing{}, false
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
