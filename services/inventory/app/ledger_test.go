package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

func commandOn(stocks ...string) *command {
	k := Keys{Stocks: stocks}
	return &command{keys: k, records: k.records()}
}

// A hot product's commands all join one batch; commands spread over many
// products are cut into batches of maxRecords records, which run side by
// side; a command never overtakes an earlier one that names its records.
func TestGatherBatchesByRecords(t *testing.T) {
	var hot []*command
	for range 100 {
		hot = append(hot, commandOn("P"))
	}
	batch, rest := gather(hot, map[string]bool{})
	assert.Len(t, batch, 100)
	assert.Empty(t, rest)

	var spread []*command
	for i := range 40 {
		spread = append(spread, commandOn(fmt.Sprint("SKU-", i)))
	}
	batch, rest = gather(spread, map[string]bool{})
	assert.Len(t, batch, maxRecords)
	assert.Len(t, rest, 40-maxRecords)
	assert.Equal(t, spread[:maxRecords], batch, "oldest first")

	busy := map[string]bool{"stock:Y": true}
	a, b, c := commandOn("X", "Y"), commandOn("X"), commandOn("Z")
	batch, rest = gather([]*command{a, b, c}, busy)
	assert.Equal(t, []*command{c}, batch, "a waits for Y in flight, b for a")
	assert.Equal(t, []*command{a, b}, rest)

	one := commandOn(spread[0].keys.Stocks...)
	one.keys.Pages, one.records = []string{"p"}, Keys{Stocks: one.keys.Stocks, Pages: []string{"p"}}.records()
	assert.Equal(t, []string{"stock:SKU-0", "page:p"}, one.records, "each record named by its kind")
}

// While a batch on P is being written, a command on Q is written beside
// it; a second command on P waits for the first batch to end.
func TestBatchesOfOtherRecordsRunSideBySide(t *testing.T) {
	now := time.Now()
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 10, 0, now), "Q": domain.NewStock("Q", 10, 0, now)},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	writing, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	store.committing = func(b Batch) {
		if b.Stocks[0].Value.ProductID == "P" {
			first.Do(func() {
				close(writing)
				<-release // the first batch on P stays in flight
			})
		}
	}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)

	reserve := func(product string) chan error { return reserving(ctx, inv, product) }
	one := reserve("P")
	<-writing
	two := reserve("P")
	select {
	case err := <-reserve("Q"):
		require.NoError(t, err, "Q is written while P's batch is in flight")
	case <-time.After(10 * time.Second):
		t.Fatal("a batch on Q waited for the batch on P")
	}
	select {
	case <-two:
		t.Fatal("a second command on P was written while P's batch was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-one)
	require.NoError(t, <-two)
	assert.Equal(t, int64(2), store.stocks["P"].Reserved)
}

// reserving reserves one unit of product in the background; the channel
// gives its outcome.
func reserving(ctx context.Context, inv *Inventory, product string) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := inv.Reserve(ctx, Caller{UserID: "u"}, "", "o", []domain.Item{{ProductID: product, Quantity: 1}})
		done <- err
	}()
	return done
}

// A command whose caller gave up before its batch began lets go of its
// records: the next command naming them is written. (It once held them
// for good: the batch's commands were compacted in place, so the list the
// writer handed back named a live command twice and the given-up one not
// at all, and every later command on its product waited forever.)
func TestAGivenUpCommandLetsGoOfItsRecords(t *testing.T) {
	now := time.Now()
	stocks := map[string]domain.Stock{}
	for _, id := range []string{"P", "Q", "R", "S"} {
		stocks[id] = domain.NewStock(id, 10, 0, now)
	}
	store := &memStore{stocks: stocks, pages: map[string]Page{}, receipts: map[string]Receipt{}}
	held, release := make(chan struct{}, maxInFlight), make(chan struct{})
	var first sync.Map
	store.committing = func(b Batch) {
		if id := b.Stocks[0].Value.ProductID; id == "P" || id == "Q" {
			if _, again := first.LoadOrStore(id, true); !again {
				held <- struct{}{}
				<-release // both batches stay in flight
			}
		}
	}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)

	inFlight := func() {
		t.Helper()
		select {
		case <-held:
		case <-time.After(10 * time.Second):
			t.Fatal("no batch was held in flight")
		}
	}
	p := reserving(ctx, inv, "P")
	inFlight()
	q := reserving(ctx, inv, "Q") // after P's batch began: a batch of its own
	inFlight()
	gaveUp, giveUp := context.WithCancel(ctx)
	r := reserving(gaveUp, inv, "R")
	time.Sleep(50 * time.Millisecond) // R waits in the ledger first,
	s := reserving(ctx, inv, "S")
	time.Sleep(50 * time.Millisecond) // then S: one batch will take both
	giveUp()
	require.ErrorIs(t, <-r, context.Canceled)
	close(release)
	for _, done := range []chan error{p, q, s} {
		require.NoError(t, <-done)
	}
	select {
	case err := <-reserving(ctx, inv, "R"):
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("R's record stayed busy after the command naming it was given up")
	}
	assert.Equal(t, int64(1), store.stocks["R"].Reserved, "only the second reservation of R was written")
}
