package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// A login refused for lack of hashing room is not a failed guess.
func TestBusyLoginIsNotCountedAsAFailure(t *testing.T) {
	a, store, _ := newAuth(t)
	register(t, a, "ann@example.com")
	a.LimitHashing(1, 0)
	hold := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = a.hashing.Run(context.Background(), func() error { close(started); <-hold; return nil })
	}()
	<-started
	_, err := a.Login(t.Context(), "ann@example.com", "wrong", Client{IP: "192.0.2.9"})
	close(hold)
	require.ErrorIs(t, err, ErrBusy)
	assert.Zero(t, store.throttles["account:ann@example.com"].Failures)
}

// Concurrent failed logins on one account are all counted: a save that
// loses the ETag race reads the record again and counts once more.
func TestConcurrentFailuresAreAllCounted(t *testing.T) {
	a, store, _ := newAuth(t)
	register(t, a, "ann@example.com")
	a.AccountThrottle.Threshold = 1000 // count, never lock
	a.AddressThrottle.Threshold = 1000
	const n = 20
	a.LimitHashing(0, n) // room for all: this test is about counting
	var wg sync.WaitGroup
	barrier := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-barrier
			_, errs[i] = a.Login(context.Background(), "ann@example.com", "wrong", Client{IP: "192.0.2.1"})
		})
	}
	close(barrier)
	wg.Wait()
	for _, err := range errs {
		assert.ErrorIs(t, err, ErrInvalidCredentials)
	}
	assert.Equal(t, n, store.throttles["account:ann@example.com"].Failures)
	assert.Equal(t, n, store.throttles["ip:192.0.2.1"].Failures)
}

// A wrong old password counts against the account like a failed login, so
// a stolen access token cannot be used to guess the password at leisure.
func TestChangePasswordFailuresAreThrottled(t *testing.T) {
	a, _, _ := newAuth(t)
	me := register(t, a, "ann@example.com")
	me.IP = "192.0.2.7"
	a.AccountThrottle = domain.ThrottlePolicy{Threshold: 2, Base: time.Second, Max: time.Minute, Window: time.Minute}
	for range 2 {
		require.ErrorIs(t, a.ChangePassword(t.Context(), me, "wrong", "a new passphrase"), ErrWrongPassword)
	}
	var throttled ThrottledError
	require.ErrorAs(t, a.ChangePassword(t.Context(), me, password, "a new passphrase"), &throttled, "locked, even with the right password")
	_, err := a.Login(t.Context(), "ann@example.com", password, Client{IP: "192.0.2.8"})
	require.ErrorAs(t, err, &throttled, "and so is login to the account")
}
