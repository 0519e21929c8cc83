package app

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
)

// Password hashing runs behind an admission gate (Auth.hashing). Each
// argon2id run holds its memory cost (19 MiB by default) and a core for
// tens of milliseconds, so a burst of logins from many addresses, which no
// per-address throttle stops, would otherwise exhaust memory. Beyond the
// slots a bounded number wait (until their request's deadline); the rest
// are refused at once.

// ErrBusy refuses work the service cannot take now: more password hashing
// is waiting than it will queue. The API answers 503 with Retry-After.
var ErrBusy = admission.ErrBusy

// LimitHashing sets how many password hashes run at once (0: one per CPU)
// and how many more may wait.
func (a *Auth) LimitHashing(concurrency, queue int) {
	a.hashing = admission.New(concurrency, queue)
}

// hash is Hasher.Hash under the gate.
func (a *Auth) hash(ctx context.Context, password string) (hash string, err error) {
	err = a.hashing.Run(ctx, func() error {
		hash, err = a.Hasher.Hash(password)
		return err
	})
	return hash, err
}

// verify is Hasher.Verify under the gate.
func (a *Auth) verify(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	err = a.hashing.Run(ctx, func() error {
		ok, rehash, err = a.Hasher.Verify(hash, password)
		return err
	})
	return ok, rehash, err
}

// HashWaiting is how many password checks wait for a free core now.
func (a *Auth) HashWaiting() int { return a.hashing.Waiting() }
