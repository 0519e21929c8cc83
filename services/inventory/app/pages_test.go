package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// The reservations one batch makes share pages of pageSize: two records
// for a hundred reservations, each still found, and settled, by its id.
func TestABatchsReservationsSharePages(t *testing.T) {
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 1000, 0, time.Now())},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const n = 100
	var wg sync.WaitGroup
	outcomes := make([]Outcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			outcomes[i], errs[i] = inv.Reserve(ctx, Caller{UserID: "u1"}, "", "order-1", []domain.Item{{ProductID: "P", Quantity: 1}})
		})
	}
	require.Eventually(t, func() bool { return len(inv.ledger.commands) == n }, 5*time.Second, time.Millisecond)
	go inv.Run(ctx)
	wg.Wait()

	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		id := outcomes[i].Reservation.ID
		assert.False(t, seen[id], "ids are unique")
		seen[id] = true
		r, err := inv.Reservation(ctx, Caller{UserID: "u1"}, id)
		require.NoError(t, err)
		assert.Equal(t, outcomes[i].Reservation, r)
	}
	require.Len(t, store.pages, 2, "one batch, %d reservations, pages of %d", n, pageSize)
	sizes := []int{}
	for id, p := range store.pages {
		assert.Equal(t, id, p.ID)
		sizes = append(sizes, len(p.Reservations))
	}
	assert.ElementsMatch(t, []int{pageSize, n - pageSize}, sizes)
	assert.Equal(t, int64(n), store.stocks["P"].Reserved)

	// Settling one rewrites its page and leaves its neighbours as they were.
	o, err := inv.Release(ctx, Caller{UserID: "u1"}, "", outcomes[7].Reservation.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.Released, o.Reservation.Status)
	assert.Equal(t, int64(n-1), store.stocks["P"].Reserved)
	for i := range n {
		r, err := inv.Reservation(ctx, Caller{UserID: "u1"}, outcomes[i].Reservation.ID)
		require.NoError(t, err)
		if i == 7 {
			assert.Equal(t, domain.Released, r.Status)
		} else {
			assert.Equal(t, domain.Reserved, r.Status)
		}
	}
}

func TestAReservationIDNamesItsPage(t *testing.T) {
	p, err := newPage()
	require.NoError(t, err)
	id := reservationID(p.Value.ID, 5)
	page, ok := PageOf(id)
	assert.True(t, ok)
	assert.Equal(t, p.Value.ID, page)
	assert.NotEqual(t, page, id)
	assert.Equal(t, page, reservationID(page, 0))
	for _, bad := range []string{"", "not-a-uuid", id + "x"} {
		_, ok := PageOf(bad)
		assert.False(t, ok, bad)
	}
	w := &Work{Pages: map[string]*Versioned[Page]{}}
	r, _ := w.Reservation(id)
	assert.Nil(t, r, "a page not read holds nothing")
}
