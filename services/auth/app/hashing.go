package app

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
)

// ErrBusy refuses work the service cannot take now: more password hashing
// is waiting than it will queue. The API answers 503 with Retry-After.
var ErrBusy = errors.New("too many password checks in progress")

// hashGate caps concurrent password hashing. Each argon2id run holds its
// memory cost (19 MiB by default) and a core for tens of milliseconds, so a
// burst of logins from many addresses, which no per-address throttle stops,
// would otherwise exhaust memory. Beyond the slots a bounded number wait
// (until their request's deadline); the rest are refused at once.
type hashGate struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
}

// newHashGate allows concurrency hashes at once and queue more waiting;
// concurrency 0 means one per CPU.
func newHashGate(concurrency, queue int) *hashGate {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &hashGate{slots: make(chan struct{}, concurrency), queue: int64(max(queue, 0))}
}

// run runs fn in a slot, waiting for one if the queue has room.
func (g *hashGate) run(ctx context.Context, fn func() error) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ErrBusy
		}
	}
	defer func() { <-g.slots }()
	return fn()
}

// LimitHashing sets how many password hashes run at once (0: one per CPU)
// and how many more may wait.
func (a *Auth) LimitHashing(concurrency, queue int) {
	a.hashing = newHashGate(concurrency, queue)
}

// hash is Hasher.Hash under the gate.
func (a *Auth) hash(ctx context.Context, password string) (hash string, err error) {
	err = a.hashing.run(ctx, func() error {
		hash, err = a.Hasher.Hash(password)
		return err
	})
	return hash, err
}

// verify is Hasher.Verify under the gate.
func (a *Auth) verify(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	err = a.hashing.run(ctx, func() error {
		ok, rehash, err = a.Hasher.Verify(hash, password)
		return err
	})
	return ok, rehash, err
}
