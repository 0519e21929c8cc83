package app

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// memStore keeps the records in memory: the ledger's own logic, without a
// sidecar (the integration tests run the real one).
type memStore struct {
	mu       sync.Mutex
	stocks   map[string]domain.Stock
	pages    map[string]Page
	receipts map[string]Receipt
	leases   map[string]Lease
	// allottedReads counts AllottedTo's reads of the stock records.
	allottedReads int
	// committing, when set, hears of each batch before it is written.
	committing func(Batch)
	// loseAnswer, when set, says which written batches answer with an
	// error all the same (as when a sidecar dies after its commit).
	loseAnswer func(Batch) bool
}

func (m *memStore) Load(_ context.Context, k Keys) (*Work, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &Work{Stocks: map[string]*Versioned[domain.Stock]{}, Pages: map[string]*Versioned[Page]{}, Receipts: map[string]*Versioned[Receipt]{},
		Leases: map[string]*Versioned[Lease]{}}
	for _, id := range k.Stocks {
		s, ok := m.stocks[id]
		s.Allotted = maps.Clone(s.Allotted) // as a store's read: the batch's own copy
		w.Stocks[id] = &Versioned[domain.Stock]{Value: s, Found: ok}
	}
	for _, id := range k.Leases {
		l, ok := m.leases[id]
		w.Leases[id] = &Versioned[Lease]{Value: l, Found: ok}
	}
	for _, id := range k.Pages {
		p, ok := m.pages[id]
		p.Reservations = slices.Clone(p.Reservations)
		w.Pages[id] = &Versioned[Page]{Value: p, Found: ok}
	}
	for _, id := range k.Receipts {
		r, ok := m.receipts[id]
		w.Receipts[id] = &Versioned[Receipt]{Value: r, Found: ok}
	}
	return w, nil
}

func (m *memStore) Commit(_ context.Context, b Batch) error {
	if m.committing != nil {
		m.committing(b)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range b.Stocks {
		m.stocks[s.Value.ProductID] = s.Value
	}
	for _, p := range b.Pages {
		m.pages[p.Value.ID] = p.Value
	}
	for _, r := range b.Receipts {
		m.receipts[r.Value.ID] = r.Value
	}
	for _, l := range b.Leases {
		if m.leases == nil {
			m.leases = map[string]Lease{}
		}
		m.leases[l.Value.Replica] = l.Value
	}
	if m.loseAnswer != nil && m.loseAnswer(b) {
		return errors.New("connection reset after the commit")
	}
	return nil
}

func (m *memStore) ReservationsOfOrder(context.Context, string) ([]domain.Reservation, error) {
	return nil, nil
}

func (m *memStore) DueReservations(context.Context, time.Time, int) ([]string, error) {
	return nil, nil
}

func (m *memStore) PendingEvents(context.Context, int) ([]StockEvent, error) { return nil, nil }

func (m *memStore) DeleteEvent(context.Context, string) error { return nil }

// LapsedLeases: the leases revoked or older than renewedBefore, not
// settled.
func (m *memStore) LapsedLeases(_ context.Context, renewedBefore time.Time) ([]Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Lease
	for _, l := range m.leases {
		if !l.Settled && (l.Revoked || l.RenewedAt.Before(renewedBefore)) {
			out = append(out, l)
		}
	}
	return out, nil
}

// AllottedTo: the units each record holds for any of replicas.
func (m *memStore) AllottedTo(_ context.Context, replicas []string) ([]AllottedUnits, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.allottedReads++
	var out []AllottedUnits
	for _, s := range m.stocks {
		for r, n := range s.Allotted {
			if slices.Contains(replicas, r) {
				out = append(out, AllottedUnits{Replica: r, ProductID: s.ProductID, Units: n})
			}
		}
	}
	return out, nil
}

// AllotmentHolds sums the open reservations of each allotment.
func (m *memStore) AllotmentHolds(_ context.Context, replicas []string) (map[string]map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	holds := map[string]map[string]int64{}
	for _, p := range m.pages {
		for _, r := range p.Reservations {
			if r.Status != domain.Reserved || !slices.Contains(replicas, r.Allotment) {
				continue
			}
			if holds[r.Allotment] == nil {
				holds[r.Allotment] = map[string]int64{}
			}
			for _, it := range r.Items {
				holds[r.Allotment][it.ProductID] += it.Quantity
			}
		}
	}
	return holds, nil
}

// Two sends of one key in one batch: the second finds the receipt the
// first left in the batch's work, before anything is written.
func TestOneKeyInOneBatchIsAppliedOnce(t *testing.T) {
	store := &memStore{stocks: map[string]domain.Stock{"P": domain.NewStock("P", 10, 0, time.Now())},
		pages: map[string]Page{}, receipts: map[string]Receipt{}}
	inv, err := New(store, Options{ReservationTTL: time.Minute, SweepInterval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	var outcomes [2]Outcome
	var errs [2]error
	for i := range outcomes {
		wg.Go(func() {
			outcomes[i], errs[i] = inv.Reserve(ctx, Caller{UserID: "u1"}, "key", "order-1", []domain.Item{{ProductID: "P", Quantity: 2}})
		})
	}
	// Both queued before the writer runs: it takes them as one batch.
	require.Eventually(t, func() bool { return len(inv.ledger.commands) == 2 }, 5*time.Second, time.Millisecond)
	go inv.Run(ctx)
	wg.Wait()

	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Equal(t, outcomes[0].Reservation, outcomes[1].Reservation)
	assert.NotEqual(t, outcomes[0].Replayed, outcomes[1].Replayed, "one first answer, one replay")
	require.Len(t, store.pages, 1)
	for _, p := range store.pages {
		assert.Len(t, p.Reservations, 1)
	}
	assert.Equal(t, int64(2), store.stocks["P"].Reserved)

	_, err = inv.Reserve(ctx, Caller{UserID: "u1"}, "key", "order-1", []domain.Item{{ProductID: "P", Quantity: 3}})
	assert.ErrorIs(t, err, ErrKeyReused)
	o, err := inv.Reserve(ctx, Caller{UserID: "u2"}, "key", "order-1", []domain.Item{{ProductID: "P", Quantity: 2}})
	require.NoError(t, err)
	assert.False(t, o.Replayed, "another caller's key is its own")
}

func TestOutcomesAreNamedForMetrics(t *testing.T) {
	for want, err := range map[string]error{
		"ok": nil, "insufficient_stock": &ShortError{ProductIDs: []string{"p"}}, "not_found": ErrReservationNotFound,
		"refused": domain.ErrAlreadyReleased, "conflict": ErrConflict, "error": errors.New("boom"),
	} {
		assert.Equal(t, want, outcomeName(Outcome{}, err))
	}
	assert.Equal(t, "replayed", outcomeName(Outcome{Replayed: true}, nil))
}
