// Package app holds the inventory's use cases. Every change goes through
// the replica's one writer (ledger.go), which batches them; reads go to
// the store directly.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Use case errors (the domain's rule errors pass through as they are).
var (
	ErrStockNotFound       = errors.New("inventory record not found")
	ErrReservationNotFound = errors.New("reservation not found")
	ErrForbidden           = errors.New("not allowed")
	// ErrConflict: a batch lost its race to another replica every time it
	// was tried.
	ErrConflict = statestore.ErrConflict
)

// RoleAdmin may do everything.
const RoleAdmin = authtoken.RoleAdmin

// Caller is who the gateway verified; anonymous readers have no UserID.
type Caller struct{ UserID, Role string }

// Admin reports whether c may do everything.
func (c Caller) Admin() bool { return c.Role == RoleAdmin }

func (c Caller) requireAdmin() error {
	if !c.Admin() {
		return ErrForbidden
	}
	return nil
}

// Store is what the inventory keeps: stock records by product id and
// reservations by id, each read with its version.
type Store interface {
	// Load reads the named records into a Work (absent ones with Found
	// false).
	Load(ctx context.Context, keys Keys) (*Work, error)
	// Commit writes a batch in one transaction, each record at the version
	// it was read; ErrConflict when another writer changed one first.
	Commit(ctx context.Context, b Batch) error
	// ReservationsOfOrder lists an order's reservations, oldest first.
	ReservationsOfOrder(ctx context.Context, orderID string) ([]domain.Reservation, error)
	// DueReservations are up to limit open reservations expired by now.
	DueReservations(ctx context.Context, now time.Time, limit int) ([]string, error)
	// PendingEvents are up to limit stock events not yet published, oldest
	// first; DeleteEvent removes one once it is.
	PendingEvents(ctx context.Context, limit int) ([]StockEvent, error)
	DeleteEvent(ctx context.Context, id string) error
	// LapsedLeases are the leases revoked or renewed before
	// renewedBefore, and not settled; AllottedTo the units records hold
	// for any of replicas; AllotmentHolds the units each allotment's open
	// reservations hold, by replica and product (reclaim.go).
	LapsedLeases(ctx context.Context, renewedBefore time.Time) ([]Lease, error)
	AllottedTo(ctx context.Context, replicas []string) ([]AllottedUnits, error)
	AllotmentHolds(ctx context.Context, replicas []string) (map[string]map[string]int64, error)
}

// Options are the inventory's settings.
type Options struct {
	ReservationTTL time.Duration
	// SweepInterval is how often expired reservations are looked for: the
	// bound, with one batch's write, on how long their stock stays held.
	SweepInterval time.Duration
	// Cache, when set, answers shoppers' availability reads, each copy at
	// most CacheTTL old (availability.go); CacheFailed hears of its errors.
	Cache       Cache
	CacheTTL    time.Duration
	CacheFailed func(error)
	// Observer hears what the writes do, for metrics.
	Observer Observer
	// AllotMost is the most units of a product a replica takes ahead of
	// demand (allotment.go); 0 holds every reservation on the records.
	// AllotFrom is the rate (reservations a second at the replica) from
	// which it does.
	AllotMost, AllotFrom int64
	// LeaseTimeout: an allotment whose lease was not renewed for this
	// long is taken back by the sweep (reclaim.go).
	LeaseTimeout time.Duration
}

// Observer hears what the inventory's writes do, for metrics; any func
// may be nil.
type Observer struct {
	// Settled: a reserve, release, deduct or expire ended with outcome
	// (ok, replayed, insufficient_stock, not_found, refused, conflict,
	// invalid, error).
	Settled func(operation, outcome string)
	// Batched: the ledger committed a batch of size commands.
	Batched func(size int)
	// Violated: a batch would have written a stock record whose counts
	// break the books (a negative count); the batch was refused. Must
	// never happen: the domain refuses such changes first.
	Violated func(productID string)
	// Swept: an expiry sweep found due reservations to end (each one's
	// end is Settled as expire), or failed with err (the next sweep tries
	// again).
	Swept func(due int, err error)
	// Reclaimed: the sweep gave back units a lost allotment held unused.
	Reclaimed func(units int64)
}

// Inventory is the use cases.
type Inventory struct {
	store  Store
	ledger *Ledger
	allot  *allotments
	clock  func() time.Time
	opts   Options
	// reclaimed: when the sweep last took back units of each revoked
	// allotment still holding some (reclaim.go; one sweep at a time).
	reclaimed map[string]time.Time
}

// New returns the inventory over store; Run must be running for writes.
func New(store Store, opts Options) (*Inventory, error) {
	clock := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	if opts.AllotMost > 0 && opts.LeaseTimeout <= 0 {
		return nil, errors.New("inventory: allotments need a lease timeout, or a lost one is never taken back")
	}
	allot, err := newAllotments(opts.AllotMost, opts.AllotFrom)
	if err != nil {
		return nil, err
	}
	return &Inventory{store: store, ledger: newLedger(store, clock, opts.Observer, allot), allot: allot, clock: clock, opts: opts,
		reclaimed: map[string]time.Time{}}, nil
}

// Run is the writer; it returns when ctx ends.
func (inv *Inventory) Run(ctx context.Context) { inv.ledger.Run(ctx) }

// Init creates a product's record with quantity available, or returns the
// existing one unchanged (idempotent, as the original).
func (inv *Inventory) Init(ctx context.Context, c Caller, productID string, quantity, lowStockThreshold int64) (domain.Stock, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Stock{}, err
	}
	errs := validation.Errors{}
	domain.CheckProductID(errs, "productId", productID)
	domain.CheckQuantity(errs, "quantity", quantity, 0)
	domain.CheckQuantity(errs, "lowStockThreshold", lowStockThreshold, 0)
	if err := errs.Err(); err != nil {
		return domain.Stock{}, err
	}
	return stockResult(inv.ledger.do(ctx, Keys{Stocks: []string{productID}}, func(w *Work) (any, error) {
		s := w.Stock(productID)
		if !s.Found {
			s.Value, s.Found, s.Changed = domain.NewStock(productID, quantity, lowStockThreshold, w.Now()), true, true
		}
		return s.Value, nil
	}))
}

// AddStock receives quantity more units of a product.
func (inv *Inventory) AddStock(ctx context.Context, c Caller, productID string, quantity int64) (domain.Stock, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Stock{}, err
	}
	errs := validation.Errors{}
	domain.CheckProductID(errs, "productId", productID)
	domain.CheckQuantity(errs, "quantity", quantity, 1)
	if err := errs.Err(); err != nil {
		return domain.Stock{}, err
	}
	return inv.changeStock(ctx, productID, func(s *domain.Stock, now time.Time) error { return s.Add(quantity, now) })
}

// Adjust sets what a stocktake counted: onHand, for reason.
func (inv *Inventory) Adjust(ctx context.Context, c Caller, productID string, onHand int64, reason string) (domain.Stock, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Stock{}, err
	}
	errs := validation.Errors{}
	domain.CheckProductID(errs, "productId", productID)
	domain.CheckQuantity(errs, "onHand", onHand, 0)
	errs.Text("reason", reason, 500)
	if err := errs.Err(); err != nil {
		return domain.Stock{}, err
	}
	return inv.changeStock(ctx, productID, func(s *domain.Stock, now time.Time) error { return s.SetOnHand(onHand, now) })
}

func (inv *Inventory) changeStock(ctx context.Context, productID string, change func(*domain.Stock, time.Time) error) (domain.Stock, error) {
	return stockResult(inv.ledger.do(ctx, Keys{Stocks: []string{productID}}, func(w *Work) (any, error) {
		s := w.Stock(productID)
		if !s.Found {
			return nil, ErrStockNotFound
		}
		next := s.Value
		if err := change(&next, w.Now()); err != nil {
			return nil, err
		}
		s.Value, s.Changed = next, true
		return s.Value, nil
	}))
}

func stockResult(v any, err error) (domain.Stock, error) {
	if err != nil {
		return domain.Stock{}, err
	}
	return v.(domain.Stock), nil
}

// ShortError is a reservation refused for lack of stock, naming the
// products that lack it.
type ShortError struct{ ProductIDs []string }

func (e *ShortError) Error() string { return domain.ErrInsufficientStock.Error() }
func (e *ShortError) Unwrap() error { return domain.ErrInsufficientStock }

// maxItems bounds one reservation.
const maxItems = 100

// Reserve holds items for an order, all or none, for the caller; a repeat
// of the same idempotency key answers as the first did.
func (inv *Inventory) Reserve(ctx context.Context, c Caller, key, orderID string, items []domain.Item) (Outcome, error) {
	errs := validation.Errors{}
	errs.Text("orderId", orderID, domain.MaxProductIDLen)
	if len(items) == 0 || len(items) > maxItems {
		errs.Add("items", "items must hold between 1 and 100 products")
	}
	var total int64
	for _, it := range items {
		domain.CheckProductID(errs, "productId", it.ProductID)
		domain.CheckQuantity(errs, "quantity", it.Quantity, 1)
		total += it.Quantity
	}
	if err := errs.Err(); err != nil {
		return Outcome{}, err
	}
	receipt, err := newReceipt(c, key, "reserve", struct {
		OrderID string        `json:"orderId"`
		Items   []domain.Item `json:"items"`
	}{orderID, items})
	if err != nil {
		return Outcome{}, err
	}
	products := make([]string, len(items))
	for i, it := range items {
		products[i] = it.ProductID
	}
	lane, from, done := inv.allot.route(items, inv.clock())
	defer done()
	for {
		keys := Keys{Stocks: products, Lane: lane}
		if from == fromAllotment {
			keys.Stocks = nil
		}
		o, err := outcome(inv.ledger.do(ctx, receipt.keys(keys), receipt.once(func(w *Work) (domain.Reservation, error) {
			return inv.reserveIn(w, from, orderID, c.UserID, items)
		})))
		if from == fromAllotment && errors.Is(err, domain.ErrAllotmentShort) {
			from = topUp // another batch used the units in hand first
			continue
		}
		if err == nil && !o.Replayed {
			inv.allot.reserved(items, inv.clock())
		}
		return inv.settled("reserve")(o, err)
	}
}

// reserveIn makes a reservation in w, its units held on the records or
// served from this replica's allotment.
func (inv *Inventory) reserveIn(w *Work, from serve, orderID, owner string, items []domain.Item) (domain.Reservation, error) {
	id, err := w.nextReservationID()
	if err != nil {
		return domain.Reservation{}, err
	}
	res := domain.NewReservation(id, orderID, owner, items, w.Now(), inv.opts.ReservationTTL)
	var short []string
	if from == fromRecords {
		stocks, ok := w.stocksOf(res.Items)
		if !ok {
			return domain.Reservation{}, ErrStockNotFound
		}
		if short, err = res.Hold(stocks, w.Now()); err == nil {
			w.touch(res.Items)
		}
	} else {
		short, err = inv.holdFromAllotment(w, &res)
	}
	if err != nil {
		if short != nil {
			return domain.Reservation{}, &ShortError{ProductIDs: short}
		}
		return domain.Reservation{}, err
	}
	w.add(res)
	return res, nil
}

// holdFromAllotment serves res from the allotment, taking more units from
// the records the batch read where it lacks them.
func (inv *Inventory) holdFromAllotment(w *Work, res *domain.Reservation) ([]string, error) {
	stocks := map[string]*domain.Stock{}
	var read []string
	for _, it := range res.Items {
		if s := w.Stocks[it.ProductID]; s != nil {
			if !s.Found {
				return nil, ErrStockNotFound
			}
			stocks[it.ProductID] = &s.Value
			read = append(read, it.ProductID)
		}
	}
	took, short, err := res.HoldFrom(w.allot, stocks, inv.allot.extra(read, w.Now()), w.Now())
	if err != nil {
		return short, err
	}
	for _, p := range took {
		w.Stocks[p].Changed = true
	}
	w.allotChanged, w.checked = true, append(w.checked, read...)
	return nil, nil
}

// settled tells the observer how operation ended, and passes its result on.
func (inv *Inventory) settled(operation string) func(Outcome, error) (Outcome, error) {
	return func(o Outcome, err error) (Outcome, error) {
		if inv.opts.Observer.Settled != nil {
			inv.opts.Observer.Settled(operation, outcomeName(o, err))
		}
		return o, err
	}
}

// Outcomes are every name outcomeName gives.
var Outcomes = []string{"ok", "replayed", "insufficient_stock", "not_found", "refused", "conflict", "invalid", "error"}

// outcomeName classifies how a write ended, for a metric's label.
func outcomeName(o Outcome, err error) string {
	var short *ShortError
	var invalid validation.Errors
	switch {
	case err == nil && o.Replayed:
		return "replayed"
	case err == nil:
		return "ok"
	case errors.As(err, &short):
		return "insufficient_stock"
	case errors.Is(err, ErrStockNotFound), errors.Is(err, ErrReservationNotFound):
		return "not_found"
	case errors.Is(err, ErrForbidden), errors.Is(err, domain.ErrAlreadyReleased), errors.Is(err, domain.ErrAlreadyDeducted),
		errors.Is(err, domain.ErrExpired), errors.Is(err, domain.ErrRetired):
		return "refused"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.As(err, &invalid):
		return "invalid"
	}
	return "error"
}

// Release gives a reservation's units back: its owner or an admin.
func (inv *Inventory) Release(ctx context.Context, c Caller, key, reservationID string) (Outcome, error) {
	return inv.settle(ctx, c, key, "release", reservationID, false, (*domain.Reservation).Release)
}

// Deduct sells a reservation's units (admins).
func (inv *Inventory) Deduct(ctx context.Context, c Caller, key, reservationID string) (Outcome, error) {
	if err := c.requireAdmin(); err != nil {
		return Outcome{}, err
	}
	return inv.settle(ctx, c, key, "deduct", reservationID, false, (*domain.Reservation).Deduct)
}

// Expire ends a reservation whose time has run out (the sweep); one that
// ended already, or has not expired, is left as it is.
func (inv *Inventory) Expire(ctx context.Context, reservationID string) error {
	_, err := inv.settle(ctx, Caller{Role: RoleAdmin}, "", "expire", reservationID, true, (*domain.Reservation).Expire)
	return err
}

// settle ends a reservation by end, reading its stock records in the same
// batch (a reservation names its products, so it is read first).
func (inv *Inventory) settle(ctx context.Context, c Caller, key, operation, reservationID string, sweep bool,
	end func(*domain.Reservation, map[string]*domain.Stock, time.Time) error) (Outcome, error) {
	return inv.settled(operation)(inv.settleOnce(ctx, c, key, operation, reservationID, sweep, end))
}

func (inv *Inventory) settleOnce(ctx context.Context, c Caller, key, operation, reservationID string, sweep bool,
	end func(*domain.Reservation, map[string]*domain.Stock, time.Time) error) (Outcome, error) {
	page, ok := PageOf(reservationID)
	if !ok {
		return Outcome{}, ErrReservationNotFound
	}
	receipt, err := newReceipt(c, key, operation, reservationID)
	if err != nil {
		return Outcome{}, err
	}
	current, err := inv.Reservation(ctx, c, reservationID)
	if err != nil {
		return Outcome{}, err
	}
	keys := Keys{Stocks: current.ProductIDs(), Pages: []string{page}}
	return outcome(inv.ledger.do(ctx, receipt.keys(keys), receipt.once(func(w *Work) (domain.Reservation, error) {
		r, page := w.Reservation(reservationID)
		if r == nil {
			return domain.Reservation{}, ErrReservationNotFound
		}
		if sweep && (r.Status != domain.Reserved || !r.ExpiredAt(w.Now())) {
			return *r, nil
		}
		stocks, ok := w.stocksOf(r.Items)
		if !ok {
			return domain.Reservation{}, domain.ErrInvalidStockState
		}
		next := *r
		if err := end(&next, stocks, w.Now()); err != nil {
			return domain.Reservation{}, err
		}
		w.touch(next.Items)
		*r, page.Changed = next, true
		return next, nil
	})))
}
