package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// The ledger is each replica's one writer. Commands queue; the writer
// takes every command waiting (up to maxBatch), loads the records they
// touch in one read, applies them in order to those records, and writes
// the result in one state transaction. So fifty reservations of one hot
// product cost one read and one transaction of two records (the stock
// and a page of reservations, pages.go), not fifty contended ones, and
// the cost per reservation falls as load rises: the next batch gathers
// while the current one commits.
//
// Every record is written at the version it was read (its ETag), so two
// replicas writing one record cannot both win: the loser's transaction
// fails whole, and it reloads and applies its batch again.

// maxBatch bounds one transaction (at most a stock record per command,
// and a page per pageSize reservations).
const maxBatch = 256

// maxCommitAttempts bounds how often a batch that lost a race to another
// replica is applied again before its commands give up with ErrConflict.
const maxCommitAttempts = 5

// Keys name the records a command reads, by id: stocks by product id,
// reservation pages by page id (pages.go), leases by replica id; and
// the lane of this replica's allotments it uses (allotment.go; 0: none),
// whose lease it reads.
type Keys struct {
	Stocks, Pages, Receipts, Leases []string
	Lane                            int
}

// records names every record of k, each with its kind (ids of different
// kinds may be equal).
func (k Keys) records() []string {
	out := make([]string, 0, len(k.Stocks)+len(k.Pages)+len(k.Receipts))
	for _, id := range k.Stocks {
		out = append(out, "stock:"+id)
	}
	for _, id := range k.Pages {
		out = append(out, "page:"+id)
	}
	for _, id := range k.Receipts {
		out = append(out, "receipt:"+id)
	}
	for _, id := range k.Leases {
		out = append(out, "lease:"+id)
	}
	if k.Lane > 0 {
		out = append(out, fmt.Sprint("allotment:", k.Lane))
	}
	return out
}

// Work is the records one batch read and changes, by id.
type Work struct {
	Stocks   map[string]*Versioned[domain.Stock]
	Pages    map[string]*Versioned[Page]
	Receipts map[string]*Versioned[Receipt]
	Leases   map[string]*Versioned[Lease]
	now      time.Time
	// allot is this replica's allotment, for commands that named it;
	// allotChanged says the batch changed it (so it writes the lease),
	// checked the products whose records were read with it.
	allot        *domain.Allotment
	lane         int
	allotChanged bool
	checked      []string
	// open is the page the batch's new reservations go to, taken the
	// places used in it.
	open  *Versioned[Page]
	taken int
}

// Versioned is a record as read (its ETag; Found false for none yet) and
// whether the batch changed it.
type Versioned[T any] struct {
	Value   T
	ETag    string
	Found   bool
	Changed bool
}

// Batch is what a ledger writes at once: every changed record, each at
// the version it was read (a new one only if still absent).
type Batch struct {
	Stocks   []*Versioned[domain.Stock]
	Pages    []*Versioned[Page]
	Receipts []*Versioned[Receipt]
	Leases   []*Versioned[Lease]
	Events   []StockEvent // new, so written only if absent
}

// command is one use case's change: keys name the records it reads, apply
// changes them in w (or changes nothing and fails).
type command struct {
	ctx     context.Context
	keys    Keys
	records []string // keys' records, each named by its kind and id
	apply   func(w *Work) (any, error)
	done    chan result
}

type result struct {
	value any
	err   error
}

// Ledger runs the writer.
type Ledger struct {
	store    Store
	clock    func() time.Time
	commands chan *command
	observer Observer
	allot    *allotments
}

func newLedger(store Store, clock func() time.Time, observer Observer, allot *allotments) *Ledger {
	return &Ledger{store: store, clock: clock, commands: make(chan *command, 4*maxBatch), observer: observer, allot: allot}
}

// ErrBooksBroken refuses a batch that would write a stock record with a
// negative count (Observer.Violated): a bug, never a client's doing.
var ErrBooksBroken = errors.New("inventory: a change would break the books")

// Run writes batches until ctx ends, up to maxInFlight at once. Batches
// in flight together name disjoint records, so they never race each other
// (only another replica's writer can make one fail); a command naming a
// record that a batch in flight is writing waits for the next batch, as do
// the later commands that name its records (first come, first served).
// When it ends, Run waits for the batches in flight: a batch, once begun,
// is written or not, whole, and stopping does not cut its transaction off
// mid-call.
func (l *Ledger) Run(ctx context.Context) {
	var waiting []*command
	busy := map[string]bool{}                     // records named by the batches in flight
	written := make(chan []*command, maxInFlight) // batches done; never blocks a writer
	inFlight := 0
	finish := func(batch []*command) {
		inFlight--
		for _, c := range batch {
			for _, r := range c.records {
				delete(busy, r)
			}
		}
	}
	for {
		// What still waits could not start: it waits for a batch to end,
		// or for a new command.
		select {
		case <-ctx.Done():
			for ; inFlight > 0; inFlight-- {
				<-written
			}
			for _, c := range waiting {
				c.done <- result{err: ctx.Err()}
			}
			return
		case c := <-l.commands:
			waiting = append(waiting, c)
		case b := <-written:
			finish(b)
		}
	drain:
		for len(waiting) < cap(l.commands) {
			select {
			case c := <-l.commands:
				waiting = append(waiting, c)
			case b := <-written:
				finish(b)
			default:
				break drain
			}
		}
		for inFlight < maxInFlight {
			var batch []*command
			if batch, waiting = gather(waiting, busy); len(batch) == 0 {
				break
			}
			for _, c := range batch {
				for _, r := range c.records {
					busy[r] = true
				}
			}
			inFlight++
			go func() {
				bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
				defer cancel()
				l.write(bctx, batch)
				written <- batch
			}()
		}
	}
}

// maxInFlight bounds the batches a replica writes at once: the store
// writes a transaction's records one statement at a time, so a batch
// spread over many products is a long serial chain, and several chains
// over disjoint records use the machine that one leaves idle.
const maxInFlight = 2

// maxRecords bounds the records a batch names (when its commands name
// more than one): the batch's write takes a statement per record, and
// the commands waiting beyond it start a batch of their own beside it.
// Commands that name only records the batch has already (a hot product)
// always join it, up to maxBatch.
const maxRecords = 32

// gather takes the next batch from waiting, oldest first: the commands
// that name no record busy in flight, nor one of a command left waiting
// before them, up to maxBatch commands and maxRecords records.
func gather(waiting []*command, busy map[string]bool) (batch, rest []*command) {
	named, blocked := map[string]bool{}, map[string]bool{}
	lane := 0
	for _, c := range waiting {
		fresh, clash := 0, c.keys.Lane > 0 && lane > 0 && c.keys.Lane != lane
		for _, r := range c.records {
			clash = clash || busy[r] || blocked[r]
			if !named[r] {
				fresh++
			}
		}
		if clash || len(batch) == maxBatch || (len(batch) > 0 && len(named)+fresh > maxRecords) {
			rest = append(rest, c)
			for _, r := range c.records {
				blocked[r] = true
			}
			continue
		}
		batch = append(batch, c)
		lane = max(lane, c.keys.Lane)
		for _, r := range c.records {
			named[r] = true
		}
	}
	return batch, rest
}

// batchTimeout bounds one batch's read and write.
const batchTimeout = 10 * time.Second

// do queues a command and waits for its result. A caller that gives up
// waiting does not stop a batch that has begun: its change is written or
// not, whole, like any other.
func (l *Ledger) do(ctx context.Context, keys Keys, apply func(w *Work) (any, error)) (any, error) {
	c := &command{ctx: ctx, keys: keys, records: keys.records(), apply: apply, done: make(chan result, 1)}
	select {
	case l.commands <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.done:
		return r.value, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// write applies and commits one batch, again from a fresh read when
// another replica won a race for one of its records.
func (l *Ledger) write(ctx context.Context, batch []*command) {
	// A list of its own: batch goes back to Run, which lets go of the
	// records of every command in it, the given-up ones included.
	live := make([]*command, 0, len(batch))
	for _, c := range batch {
		if c.ctx.Err() != nil {
			c.done <- result{err: c.ctx.Err()} // gave up before it began
			continue
		}
		live = append(live, c)
	}
	var results []result
	err := ErrConflict
	for attempt := 0; attempt < maxCommitAttempts && errors.Is(err, ErrConflict); attempt++ {
		results, err = l.attempt(ctx, live)
	}
	for i, c := range live {
		if err != nil {
			c.done <- result{err: err}
			continue
		}
		c.done <- results[i]
	}
}

func (l *Ledger) attempt(ctx context.Context, batch []*command) ([]result, error) {
	var all Keys
	for _, c := range batch {
		all.Stocks = append(all.Stocks, c.keys.Stocks...)
		all.Pages = append(all.Pages, c.keys.Pages...)
		all.Receipts = append(all.Receipts, c.keys.Receipts...)
		all.Leases = append(all.Leases, c.keys.Leases...)
		all.Lane = max(all.Lane, c.keys.Lane) // one lane a batch (gather)
	}
	var held domain.Allotment
	if all.Lane > 0 {
		held = l.allot.lanes[all.Lane-1].snapshot()
		all.Leases = append(all.Leases, held.Replica)
	}
	all = Keys{Stocks: unique(all.Stocks), Pages: unique(all.Pages), Receipts: unique(all.Receipts), Leases: unique(all.Leases), Lane: all.Lane}
	w, err := l.store.Load(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("ledger load: %w", err)
	}
	w.now = l.clock()
	if held.Replica != "" {
		lease := w.Leases[held.Replica]
		if lease.Value.Revoked || (!lease.Found && len(held.Units) > 0) {
			// Another replica took the allotment back: start over.
			if err := l.allot.lanes[all.Lane-1].lost(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: allotment %s was revoked", ErrConflict, held.Replica)
		}
		w.allot, w.lane = &held, all.Lane
	}
	wasLow := lowAtLoad(w)
	results := make([]result, len(batch))
	for i, c := range batch {
		v, err := c.apply(w)
		results[i] = result{value: v, err: err}
	}
	revokedHere := false
	if w.allotChanged {
		if lease := w.Leases[held.Replica]; lease.Changed {
			// This replica's own sweep revoked the lane's lapsed lease in
			// this very batch (the two name different records). The
			// revocation stands: the units the lane hands out are written
			// with it, so the sweep counts them as held, and the lane
			// starts over once written. (Renewed here, the sweep would give
			// back units the lane still hands out.)
			revokedHere = true
		} else {
			lease.Value, lease.Changed = Lease{Replica: held.Replica, RenewedAt: w.now}, true
		}
	}
	changed := w.changed()
	if len(changed.Stocks)+len(changed.Pages)+len(changed.Receipts)+len(changed.Leases) == 0 {
		l.keep(w, held)
		return results, nil
	}
	for _, st := range changed.Stocks {
		if v := st.Value; v.Available < 0 || v.Reserved < 0 || v.Committed < 0 {
			if l.observer.Violated != nil {
				l.observer.Violated(v.ProductID)
			}
			return nil, fmt.Errorf("%w: %s", ErrBooksBroken, v.ProductID)
		}
	}
	if changed.Events, err = crossings(w, wasLow); err != nil {
		return nil, err
	}
	if err := l.store.Commit(ctx, changed); err != nil {
		if held.Replica != "" && !errors.Is(err, ErrConflict) {
			// The transaction may have been written all the same (its
			// answer lost), so what the lane holds is no longer known:
			// it starts over, and the sweep takes back what the old
			// allotment holds unused, read from the store, once its
			// lease lapses.
			err = errors.Join(err, l.allot.lanes[all.Lane-1].lost())
		}
		return nil, fmt.Errorf("ledger commit: %w", err)
	}
	l.keep(w, held)
	if revokedHere {
		if err := l.allot.lanes[all.Lane-1].lost(); err != nil {
			return nil, err
		}
	}
	if l.observer.Batched != nil {
		l.observer.Batched(len(batch))
	}
	return results, nil
}

// keep adopts what a written batch made of the allotment.
func (l *Ledger) keep(w *Work, held domain.Allotment) {
	if w.allot != nil {
		l.allot.lanes[w.lane-1].adopt(held, w.checked, w.now, w.allotChanged)
	}
}

// Now is the batch's time: every change in it happens at one instant.
func (w *Work) Now() time.Time { return w.now }

// Stock is the record of productID (nil when none was read: a command
// reads only what it named).
func (w *Work) Stock(productID string) *Versioned[domain.Stock] { return w.Stocks[productID] }

// Stocks are the live records of the products a reservation names, for
// the domain's rules (false when one has no record).
func (w *Work) stocksOf(items []domain.Item) (map[string]*domain.Stock, bool) {
	stocks := make(map[string]*domain.Stock, len(items))
	for _, it := range items {
		s := w.Stocks[it.ProductID]
		if s == nil || !s.Found {
			return nil, false
		}
		stocks[it.ProductID] = &s.Value
	}
	return stocks, true
}

// touch marks the stocks of items changed.
func (w *Work) touch(items []domain.Item) {
	for _, it := range items {
		w.Stocks[it.ProductID].Changed = true
	}
}

// changed is what the batch must write.
func (w *Work) changed() Batch {
	var b Batch
	for _, s := range w.Stocks {
		if s.Changed {
			b.Stocks = append(b.Stocks, s)
		}
	}
	for _, p := range w.Pages {
		if p.Changed {
			b.Pages = append(b.Pages, p)
		}
	}
	for _, r := range w.Receipts {
		if r.Changed {
			b.Receipts = append(b.Receipts, r)
		}
	}
	for _, r := range w.Leases {
		if r.Changed {
			b.Leases = append(b.Leases, r)
		}
	}
	return b
}

func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
