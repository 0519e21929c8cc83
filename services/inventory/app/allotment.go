package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"sync"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Allotments (docs/inventory.md): a replica takes units of a product in
// demand from its record ahead of time (domain.Allotment) and serves
// reservations from them without writing the record again. Over many
// products each reservation would otherwise write its product's record;
// with allotments, a batch writes its page of reservations and one
// lease, whatever products it names.
//
// A replica keeps allotLanes allotments, lanes, each with its own id and
// lease ("lease:<id>"), and a product goes to the lane its id hashes to.
// The lease fences the allotment: every batch that takes, hands out or
// gives back a lane's units writes its lease at the version it read. A
// replica that stops renewing its leases (it crashed, or hung) has them
// revoked by any replica's sweep (reclaim.go), which then gives back what
// each allotment did not hand out; a batch the old replica still had in
// flight fails on the lease's version, and that lane starts over with an
// empty allotment under a new id. So no unit is both given back and
// handed out.
//
// Allotments are taken only while this replica is busy (Options.AllotFrom
// reservations a second), and only of products reserved in the last
// second: under ordinary load every reservation is held on its record as
// before, and availability is exact. Unused units go back after a second
// without demand (ReturnIdle), and an allotment serves for at most
// allotFresh before its record is read again (a product retired
// meanwhile is then refused).

// Lease fences a replica's allotment (see above).
type Lease struct {
	Replica   string    `json:"replica"`
	RenewedAt time.Time `json:"renewedAt"`
	Revoked   bool      `json:"revoked,omitempty"`
	// Settled: revoked, and no record holds units for it any more. A
	// revoked allotment never takes units again, so the sweep is done
	// with it for good.
	Settled bool `json:"settled,omitempty"`
}

// allotFresh bounds how long an allotment serves without its record
// being read again.
const allotFresh = 5 * time.Second

// serve is where a reservation's units come from.
type serve int

const (
	fromRecords   serve = iota // held on the records (no allotment)
	fromAllotment              // all in hand: the records are not read
	topUp                      // read the records, take more where short
)

// allotLanes is how many allotments a replica keeps, each with its own
// lease. Batches of one allotment run one at a time (each writes its
// lease), so more lanes write more, smaller batches side by side. A
// product's lane is fixed (laneOf), so one lane writes its record.
//
// One: on two cores, two lanes halved the batches over 1,000 products
// and their sidecar spent 1.3-1.7× the CPU per reservation of one hot
// product's batches; one lane brings that to 1.0-1.3× (docs/inventory.md,
// "One lane"). A machine with cores to spare may want more.
const allotLanes = 1

// allotments are this replica's lanes and the demand they serve.
type allotments struct {
	most  int64 // most units taken ahead per product; 0: none
	from  int64 // reservations a second from which they are taken
	lanes []*lane

	mu     sync.Mutex
	made   rate             // reservations made
	demand map[string]*rate // units reserved, by product
}

// lane keeps one allotment between batches. Only batches naming the lane
// change it, and they run one at a time (they all name its record), each
// on a copy that is kept only when its transaction commits.
type lane struct {
	mu       sync.Mutex
	held     domain.Allotment     // as committed
	checked  map[string]time.Time // when a batch last read each product's record
	promised map[string]int64     // units of queued reservations counting on held
	wrote    time.Time            // when a batch last wrote its lease
	changed  time.Time            // when a batch last changed what it holds
}

func newAllotments(most, from int64) (*allotments, error) {
	a := &allotments{most: most, from: from, demand: map[string]*rate{}}
	for range allotLanes {
		l := &lane{promised: map[string]int64{}}
		if err := l.startOver(); err != nil {
			return nil, err
		}
		a.lanes = append(a.lanes, l)
	}
	return a, nil
}

// startOver drops the allotment under a new id (at start, and when the
// lease was lost: what the old id held is another's to reclaim).
func (l *lane) startOver() error {
	id, err := ids.New()
	if err != nil {
		return fmt.Errorf("allotment id: %w", err)
	}
	l.held, l.checked = domain.Allotment{Replica: id, Units: map[string]int64{}}, map[string]time.Time{}
	l.wrote, l.changed = time.Time{}, time.Time{}
	return nil
}

func (l *lane) lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.startOver()
}

// route chooses where a reservation's units come from: a lane (1-based;
// 0 for none) and how; it promises the reservation units in hand (done
// gives the promise up once its batch has ended).
func (a *allotments) route(items []domain.Item, now time.Time) (laneNo int, s serve, done func()) {
	if a.most == 0 {
		return 0, fromRecords, func() {}
	}
	asked := map[string]int64{}
	for _, it := range items {
		asked[it.ProductID] += it.Quantity
	}
	wanted := false
	a.mu.Lock()
	if a.made.perSecond(now) >= a.from {
		for p := range asked {
			wanted = wanted || (a.demand[p] != nil && a.demand[p].perSecond(now) > 0)
		}
	}
	a.mu.Unlock()
	// A reservation goes to the lane of its first product, so that a
	// product's units gather in one allotment and its record is written
	// by one lane's batches at a time.
	n := laneOf(items[0].ProductID, len(a.lanes))
	done, held := a.lanes[n].promise(asked, now)
	if done != nil {
		return n + 1, fromAllotment, done
	}
	if wanted || held {
		return n + 1, topUp, func() {}
	}
	return 0, fromRecords, func() {}
}

// laneOf is productID's lane (of n).
func laneOf(productID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(productID))
	return int(h.Sum32() % uint32(n))
}

// promise reserves units in hand for asked, if the lane has them all
// (done gives them up); held says whether it holds any of them.
func (l *lane) promise(asked map[string]int64, now time.Time) (done func(), held bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	inHand := true
	for p, q := range asked {
		held = held || l.held.Units[p] > 0
		inHand = inHand && l.held.Units[p]-l.promised[p] >= q && now.Sub(l.checked[p]) < allotFresh
	}
	if !inHand {
		return nil, held
	}
	for p, q := range asked {
		l.promised[p] += q
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for p, q := range asked {
			if l.promised[p] -= q; l.promised[p] == 0 {
				delete(l.promised, p)
			}
		}
	}, held
}

// reserved counts a reservation made (a replay is not demand).
func (a *allotments) reserved(items []domain.Item, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.made.add(now, 1)
	for _, it := range items {
		d := a.demand[it.ProductID]
		if d == nil {
			d = &rate{}
			a.demand[it.ProductID] = d
		}
		d.add(now, it.Quantity)
	}
}

// extra is how many units a lane takes ahead for each product: about
// two seconds of this replica's demand (a product has one lane), at most
// a.most.
func (a *allotments) extra(products []string, now time.Time) map[string]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int64, len(products))
	for _, p := range products {
		if d := a.demand[p]; d != nil {
			out[p] = min(a.most, 2*d.perSecond(now)+1)
		}
	}
	return out
}

// snapshot is a copy of the allotment for a batch to change.
func (l *lane) snapshot() domain.Allotment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held.Clone()
}

// adopt keeps what a committed batch made of the allotment, when it read
// the records of checked, and whether it wrote the lease.
func (l *lane) adopt(held domain.Allotment, checked []string, at time.Time, wroteLease bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if held.Replica != l.held.Replica {
		return // the lease was lost meanwhile
	}
	if wroteLease {
		l.wrote = at
		if !maps.Equal(held.Units, l.held.Units) {
			l.changed = at
		}
	}
	l.held = held
	for _, p := range checked {
		l.checked[p] = at
	}
}

// idle are, by lane, the products whose unused units should go back:
// nothing asked for them for a second, and nothing queued counting on
// them.
func (a *allotments) idle(now time.Time) [][]string {
	a.mu.Lock()
	asked := map[string]bool{}
	for p, d := range a.demand {
		if d.perSecond(now) > 0 {
			asked[p] = true
		} else {
			delete(a.demand, p)
		}
	}
	a.mu.Unlock()
	out := make([][]string, len(a.lanes))
	for n, l := range a.lanes {
		l.mu.Lock()
		for p, units := range l.held.Units {
			if units > 0 && l.promised[p] == 0 && !asked[p] {
				out[n] = append(out[n], p)
			}
		}
		l.mu.Unlock()
	}
	return out
}

// rate counts units asked of one product, by wall-clock second.
type rate struct{ second, this, last int64 }

func (r *rate) add(now time.Time, q int64) {
	if s := now.Unix(); s != r.second {
		r.last = 0
		if s == r.second+1 {
			r.last = r.this
		}
		r.second, r.this = s, 0
	}
	r.this += q
}

// perSecond is the demand of the last full second, or of this one when
// it is already more.
func (r *rate) perSecond(now time.Time) int64 {
	switch now.Unix() {
	case r.second:
		return max(r.this, r.last)
	case r.second + 1:
		return r.this
	}
	return 0
}

// dueForRenewal says whether the lane's lease should be written again
// now: it was not for every, and the allotment changed within usedWithin
// (reservations served from it may still be open).
func (l *lane) dueForRenewal(now time.Time, every, usedWithin time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.wrote.IsZero() && now.Sub(l.wrote) >= every && now.Sub(l.changed) < usedWithin
}

// ReturnIdle gives back, every interval, the units of the products nobody
// asked for in the last second, and renews the leases of the lanes still
// in use, until ctx ends.
func (inv *Inventory) ReturnIdle(ctx context.Context, interval time.Duration, failed func(error)) {
	every(ctx, interval, inv.returnIdleOnce, failed)
}

func (inv *Inventory) returnIdleOnce(ctx context.Context) error {
	var errs []error
	now := inv.clock()
	for n, products := range inv.allot.idle(now) {
		if len(products) > 0 {
			errs = append(errs, inv.giveBack(ctx, n+1, products))
		}
	}
	// A lane idle for longer than the lease timeout (between bursts of
	// demand) keeps its lease while reservations it served may be open:
	// revoked, it would start over, and the sweep would read its open
	// reservations on every pass until they all ended.
	for n, l := range inv.allot.lanes {
		if l.dueForRenewal(now, inv.opts.LeaseTimeout/3, inv.opts.ReservationTTL) {
			errs = append(errs, inv.renew(ctx, n+1))
		}
	}
	return errors.Join(errs...)
}

// renew writes lane's lease, changing nothing else. A lease revoked
// meanwhile makes the lane start over (Ledger.attempt), and the new
// allotment, holding nothing, needs no lease until it takes units.
func (inv *Inventory) renew(ctx context.Context, lane int) error {
	_, err := inv.ledger.do(ctx, Keys{Lane: lane}, func(w *Work) (any, error) {
		w.allotChanged = w.Leases[w.allot.Replica].Found
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("renew allotment lease: %w", err)
	}
	return nil
}

// giveBack returns lane's unused units of products to their records.
func (inv *Inventory) giveBack(ctx context.Context, lane int, products []string) error {
	_, err := inv.ledger.do(ctx, Keys{Stocks: products, Lane: lane}, func(w *Work) (any, error) {
		for _, p := range products {
			s := w.Stock(p)
			if !s.Found || w.allot.Units[p] == 0 {
				continue
			}
			if err := w.allot.GiveBack(&s.Value, w.Now()); err != nil {
				return nil, fmt.Errorf("give back %s: %w", p, err)
			}
			s.Changed, w.allotChanged = true, true
		}
		return nil, nil
	})
	return err
}
