package app

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// booksOf sums what the open reservations hold of product, by allotment
// ("" for none).
func booksOf(store *memStore, product string) map[string]int64 {
	store.mu.Lock()
	defer store.mu.Unlock()
	held := map[string]int64{}
	for _, p := range store.pages {
		for _, r := range p.Reservations {
			for _, it := range r.Items {
				if r.Status == domain.Reserved && it.ProductID == product {
					held[r.Allotment] += it.Quantity
				}
			}
		}
	}
	return held
}

// laneIDs are the ids of inv's allotments now.
func laneIDs(inv *Inventory) []string {
	var out []string
	for _, l := range inv.allot.lanes {
		out = append(out, l.snapshot().Replica)
	}
	return out
}

func (m *memStore) stock(product string) domain.Stock {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stocks[product]
}

// A product in demand is served from an allotment. Idle units go back; a replica that stops
// renewing its lease has its unused units taken back by another's sweep,
// and starts over when it comes back.
func TestAllotmentsServeDemandWithFewRecordWrites(t *testing.T) {
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 10_000, 0, time.Now())},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	opts := Options{ReservationTTL: time.Minute, SweepInterval: time.Hour, AllotMost: 64, AllotFrom: 1, LeaseTimeout: 300 * time.Millisecond}
	one, err := New(store, opts)
	require.NoError(t, err)
	other, err := New(store, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go one.Run(ctx)
	otherCtx, stopOther := context.WithCancel(ctx)
	go other.Run(otherCtx)

	reserve := func(inv *Inventory, n int) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				_, err := inv.Reserve(ctx, Caller{UserID: "u"}, "", "o", []domain.Item{{ProductID: "P", Quantity: 1}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	for range 10 {
		reserve(one, 50)
	}
	s := store.stock("P")
	held := booksOf(store, "P")
	var fromAllotments int64
	for _, id := range laneIDs(one) {
		fromAllotments += held[id]
	}
	assert.Equal(t, int64(500), held[""]+fromAllotments)
	assert.Greater(t, fromAllotments, int64(400), "served from allotments once in demand")
	assert.Equal(t, int64(10_000), s.OnHand())
	assert.Greater(t, s.Reserved, int64(500), "units taken ahead count as reserved")

	require.Eventually(t, func() bool {
		return assert.NoError(t, one.returnIdleOnce(ctx)) && store.stock("P").Reserved == 500
	}, 10*time.Second, 50*time.Millisecond, "idle units go back")

	// The other replica takes an allotment, then stops without giving it
	// back. Once its lease lapses, the sweep takes back its unused units.
	for range 3 {
		reserve(other, 20)
	}
	lost := laneIDs(other)
	stopOther()
	itsOwn := booksOf(store, "P")
	var unused int64
	for _, id := range lost {
		unused += store.stock("P").Allotted[id] - itsOwn[id]
	}
	require.Positive(t, unused, "it holds units unused")
	require.Eventually(t, func() bool {
		if !assert.NoError(t, one.reclaimOnce(ctx)) {
			return false
		}
		s := store.stock("P")
		for _, id := range lost {
			if s.Allotted[id] != itsOwn[id] {
				return false
			}
		}
		return s.Reserved == 560
	}, 10*time.Second, 50*time.Millisecond, "only what its reservations hold stays held")
	for _, id := range lost {
		if itsOwn[id] > 0 || store.leases[id].Replica != "" {
			assert.True(t, store.leases[id].Revoked, "lease %s", id)
		}
	}

	// It comes back: its lease was revoked, so it starts over rather than
	// hand out units it no longer has.
	go other.Run(ctx)
	reserve(other, 5)
	s = store.stock("P")
	held = booksOf(store, "P")
	for _, id := range lost {
		assert.Equal(t, itsOwn[id], held[id], "a revoked allotment serves no reservation again")
	}
	var total int64
	for _, n := range held {
		total += n
	}
	assert.Equal(t, int64(565), total)
	assert.Equal(t, int64(10_000), s.OnHand())
	assert.GreaterOrEqual(t, s.Reserved, total)
	for replica, n := range s.Allotted {
		assert.GreaterOrEqual(t, n, held[replica], "an allotment holds at least what its reservations hold")
	}
}

// A replica's lane idle for longer than the lease timeout keeps its
// lease while reservations it served may still be open (the reservation
// TTL), so the sweep leaves it alone; after that it lapses like any.
func TestAnIdleAllotmentKeepsItsLeaseWhileItsReservationsMayBeOpen(t *testing.T) {
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 10_000, 0, time.Now())},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	ttl := 1500 * time.Millisecond
	inv, err := New(store, Options{ReservationTTL: ttl, SweepInterval: time.Hour, AllotMost: 64, AllotFrom: 1, LeaseTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)
	for range 3 {
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := inv.Reserve(ctx, Caller{UserID: "u"}, "", "o", []domain.Item{{ProductID: "P", Quantity: 1}})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
	}
	lane := laneIDs(inv)[laneOf("P", allotLanes)]
	require.NotZero(t, store.stock("P").Allotted[lane], "an allotment was taken")

	// tend runs in Eventually's goroutine too: assert, not require.
	tend := func() bool {
		return assert.NoError(t, inv.returnIdleOnce(ctx)) && assert.NoError(t, inv.reclaimOnce(ctx))
	}
	for deadline := time.Now().Add(ttl / 2); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tend() // five lease timeouts of idleness
	}
	assert.False(t, store.leases[lane].Revoked, "a lane in use keeps its lease")
	assert.Equal(t, lane, laneIDs(inv)[laneOf("P", allotLanes)])

	require.Eventually(t, func() bool {
		return tend() && store.leases[lane].Revoked
	}, 10*time.Second, 20*time.Millisecond, "past the reservation TTL its lease lapses")

	// Renewed after all (it was due, say, as the sweep revoked it): the
	// lane starts over, and writes no lease for an allotment holding
	// nothing.
	require.NoError(t, inv.renew(ctx, laneOf("P", allotLanes)+1))
	assert.NotEqual(t, lane, laneIDs(inv)[laneOf("P", allotLanes)], "it starts over")
	assert.Len(t, store.leases, 1, "no lease for the new allotment")
}

// A lapsed allotment is revoked and its unused units go back; once no
// record holds units for it, its lease is settled, and the sweep no longer
// reads the stock records for it.
func TestALapsedAllotmentIsSettledOnceNothingIsLeft(t *testing.T) {
	now := time.Now()
	s := domain.NewStock("P", 10, 0, now)
	require.NoError(t, s.Allot("gone", 4, now))
	store := &memStore{stocks: map[string]domain.Stock{"P": s}, pages: map[string]Page{}, receipts: map[string]Receipt{},
		leases: map[string]Lease{"gone": {Replica: "gone", RenewedAt: now.Add(-time.Hour)}}}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour, AllotMost: 64, AllotFrom: 1, LeaseTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)

	require.NoError(t, inv.reclaimOnce(ctx))
	back := store.stock("P")
	assert.Equal(t, int64(10), back.Available, "its unused units are back")
	assert.Zero(t, back.Reserved)
	assert.True(t, store.leases["gone"].Revoked)

	require.NoError(t, inv.reclaimOnce(ctx))
	assert.False(t, store.leases["gone"].Settled, "the pass after one that gave units back waits a lease timeout")
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, inv.reclaimOnce(ctx))
	assert.True(t, store.leases["gone"].Settled, "nothing is left of it")
	reads := store.allottedReads
	for range 3 {
		require.NoError(t, inv.reclaimOnce(ctx))
	}
	assert.Equal(t, reads, store.allottedReads, "a settled allotment's records are not read again")
	assert.Equal(t, back, store.stock("P"))
}

// A batch written whose answer was lost leaves the lane not knowing what
// its allotment holds: it starts over rather than hand out units it may
// have handed out already, and the sweep takes the old allotment's unused
// units back from what the store holds.
func TestAnAllotmentWhoseWriteWasNotAnsweredIsDropped(t *testing.T) {
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 10_000, 0, time.Now())},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour, AllotMost: 64, AllotFrom: 1, LeaseTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)
	reserve := func() error {
		_, err := inv.Reserve(ctx, Caller{UserID: "u"}, "", "o", []domain.Item{{ProductID: "P", Quantity: 1}})
		return err
	}
	for range 20 {
		require.NoError(t, reserve())
	}
	before := laneIDs(inv)
	var lost atomic.Bool
	store.loseAnswer = func(b Batch) bool { return len(b.Pages) > 0 && !lost.Swap(true) }
	require.Error(t, reserve(), "written, but answered with an error")
	for range 20 {
		require.NoError(t, reserve())
	}
	held := booksOf(store, "P")
	s := store.stock("P")
	for replica, n := range held {
		if replica != "" {
			assert.GreaterOrEqual(t, s.Allotted[replica], n, "allotment %s holds what its reservations hold", replica)
		}
	}
	for _, l := range inv.allot.lanes {
		a := l.snapshot()
		assert.LessOrEqual(t, a.Units["P"], s.Allotted[a.Replica]-held[a.Replica],
			"a lane never believes it holds more unused units than the store says")
	}
	assert.NotEqual(t, before, laneIDs(inv), "the lane started over")
	require.Eventually(t, func() bool {
		if !assert.NoError(t, inv.reclaimOnce(ctx)) || !assert.NoError(t, inv.returnIdleOnce(ctx)) {
			return false
		}
		var open int64
		for _, n := range booksOf(store, "P") {
			open += n
		}
		return store.stock("P").Reserved == open
	}, 10*time.Second, 50*time.Millisecond, "every unit not held by a reservation goes back")
}

// Over many products, each reservation held on its record writes that
// record; served from allotments, a product's record is written once per
// allotment.
func TestAllotmentsWriteFewerRecordsThanReservations(t *testing.T) {
	const products, rounds = 50, 10
	writes := func(most int64) int64 {
		store := &memStore{stocks: map[string]domain.Stock{}, pages: map[string]Page{}, receipts: map[string]Receipt{}}
		for i := range products {
			id := fmt.Sprint("P", i)
			store.stocks[id] = domain.NewStock(id, 10_000, 0, time.Now())
		}
		var recordWrites atomic.Int64
		store.committing = func(b Batch) { recordWrites.Add(int64(len(b.Stocks))) }
		inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour, AllotMost: most, AllotFrom: 1, LeaseTimeout: time.Minute})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go inv.Run(ctx)
		for range rounds {
			var wg sync.WaitGroup
			for i := range products {
				wg.Go(func() {
					_, err := inv.Reserve(ctx, Caller{UserID: "u"}, "", "o", []domain.Item{{ProductID: fmt.Sprint("P", i), Quantity: 1}})
					assert.NoError(t, err)
				})
			}
			wg.Wait()
		}
		return recordWrites.Load()
	}
	without, with := writes(0), writes(64)
	t.Logf("%d reservations over %d products wrote records %d times held on them, %d times with allotments", products*rounds, products, without, with)
	assert.Equal(t, int64(products*rounds), without, "held on its record, each reservation writes it")
	assert.Less(t, with, without/2, "with allotments, far fewer")
}

// Reservations served from allotments share a batch whatever products they
// name: a replica keeps one allotment, whose batches run one at a time, so
// what waits behind one batch is written by the next, together. (With two
// lanes, each product's reservations went to the lane its id hashed to, and
// 50 clients over many products made twice the batches at half the size:
// docs/inventory.md, "One lane".)
func TestAllottedReservationsOfManyProductsShareABatch(t *testing.T) {
	const products = 10
	store := &memStore{stocks: map[string]domain.Stock{}, pages: map[string]Page{}, receipts: map[string]Receipt{}}
	for i := range products {
		id := fmt.Sprint("P", i)
		store.stocks[id] = domain.NewStock(id, 10_000, 0, time.Now())
	}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour, AllotMost: 64, AllotFrom: 1, LeaseTimeout: time.Minute})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)
	for i := range products { // in demand: every product gets units in hand
		require.NoError(t, <-reserving(ctx, inv, fmt.Sprint("P", i)))
	}

	var armed atomic.Bool
	var batches atomic.Int64
	held, release := make(chan struct{}), make(chan struct{})
	store.committing = func(b Batch) {
		if !armed.Load() || len(b.Pages) == 0 {
			return
		}
		if batches.Add(1) == 1 {
			close(held)
			<-release // the first batch stays in flight while the rest queue
		}
	}
	armed.Store(true)
	first := reserving(ctx, inv, "P0")
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("no batch was held in flight")
	}
	var rest []chan error
	for i := 1; i < products; i++ {
		rest = append(rest, reserving(ctx, inv, fmt.Sprint("P", i)))
	}
	time.Sleep(50 * time.Millisecond) // they all wait in the ledger
	close(release)
	require.NoError(t, <-first)
	for _, done := range rest {
		require.NoError(t, <-done)
	}
	assert.Equal(t, int64(2), batches.Load(), "the held batch, then one for the nine reservations that waited behind it")
}

// A replica's own sweep may revoke its lane's lapsed lease in the very
// batch in which the lane hands out units: the two name different
// records, so they can share a batch. The revocation must stand, and the
// lane start over: the sweep goes on to give back what the allotment
// holds unused, so a lane that kept it would hand out units given back.
// (It did not stand: the lane's renewal overwrote it in the same write.)
func TestARevocationInTheLanesOwnBatchStands(t *testing.T) {
	now := time.Now()
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 10_000, 0, now),
		"Q": domain.NewStock("Q", 0, 0, now), "R": domain.NewStock("R", 0, 0, now)},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour, AllotMost: 64, AllotFrom: 1, LeaseTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)
	for range 20 {
		require.NoError(t, <-reserving(ctx, inv, "P"))
	}
	lane := laneIDs(inv)[laneOf("P", allotLanes)]
	require.NotZero(t, inv.allot.lanes[laneOf("P", allotLanes)].snapshot().Units["P"], "units in hand")
	time.Sleep(100 * time.Millisecond) // its lease lapses

	// Two batches held in flight: what queues behind them shares the next.
	var armed atomic.Bool
	inFlight, release := make(chan struct{}, 2), make(chan struct{})
	store.committing = func(b Batch) {
		if armed.Load() && len(b.Stocks) == 1 && (b.Stocks[0].Value.ProductID == "Q" || b.Stocks[0].Value.ProductID == "R") {
			inFlight <- struct{}{}
			<-release
		}
	}
	armed.Store(true)
	adding := func(product string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := inv.AddStock(ctx, Caller{UserID: "a", Role: RoleAdmin}, product, 1)
			done <- err
		}()
		return done
	}
	var added []chan error
	for _, product := range []string{"Q", "R"} { // one after the other: two batches
		added = append(added, adding(product))
		select {
		case <-inFlight:
		case <-time.After(10 * time.Second):
			t.Fatal("no batch was held in flight")
		}
	}
	swept := make(chan error, 1)
	go func() { swept <- inv.reclaimOnce(ctx) }()
	reserved := reserving(ctx, inv, "P")
	time.Sleep(50 * time.Millisecond) // both wait in the ledger
	close(release)
	for _, done := range append(added, reserved, swept) {
		require.NoError(t, <-done)
	}

	store.mu.Lock()
	revoked := store.leases[lane].Revoked
	store.mu.Unlock()
	assert.True(t, revoked, "the revocation stands")
	s, holds := store.stock("P"), booksOf(store, "P")
	for _, l := range inv.allot.lanes {
		a := l.snapshot()
		assert.LessOrEqual(t, a.Units["P"], s.Allotted[a.Replica]-holds[a.Replica],
			"a lane never holds units the store gave back")
	}
	assert.NotEqual(t, lane, laneIDs(inv)[laneOf("P", allotLanes)], "the lane started over")
}
