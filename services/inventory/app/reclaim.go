package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// AllottedUnits are the units a product's record holds for a replica's
// allotment.
type AllottedUnits struct {
	Replica, ProductID string
	Units              int64
}

// reclaimOnce takes back what lost allotments hold unused (allotment.go).
// It starts from the leases, a handful of records, and reads stock
// records only for the allotments it finds lapsed: under load the stock
// records are rewritten hundreds of times a second, and reading them all
// on every pass cost PostgreSQL a third of a core.
//
// It revokes each lapsed lease, so that its replica, if it still runs,
// can write nothing more with it; then, for every revoked allotment,
// gives back the units its records hold beyond what the allotment's open
// reservations hold. Reading those reservations before the records,
// under a revoked lease, can only count too many of them (one settled
// meanwhile is counted, and a reservation can no longer be made from
// it): so a pass may give back too little, never too much, and the next
// pass gives back the rest. Such a pass reads every open reservation
// of the allotment, so after one that gave units back the next waits a
// lease timeout. A revoked allotment no record holds units for is
// settled, and not looked at again.
func (inv *Inventory) reclaimOnce(ctx context.Context) error {
	now := inv.clock()
	lapsed, err := inv.store.LapsedLeases(ctx, now.Add(-inv.opts.LeaseTimeout))
	if err != nil || len(lapsed) == 0 {
		return err
	}
	var revoked []string
	for _, l := range lapsed {
		ok := l.Revoked
		if !ok {
			if ok, err = inv.revoke(ctx, l.Replica); err != nil {
				return err
			}
		}
		if ok && now.Sub(inv.reclaimed[l.Replica]) >= inv.opts.LeaseTimeout {
			revoked = append(revoked, l.Replica)
		}
	}
	if len(revoked) == 0 {
		return nil
	}
	records, err := inv.store.AllottedTo(ctx, revoked)
	if err != nil {
		return err
	}
	holding := map[string]bool{}
	for _, r := range records {
		holding[r.Replica] = true
	}
	for _, replica := range revoked {
		if !holding[replica] {
			if err := inv.markSettled(ctx, replica); err != nil {
				return err
			}
			delete(inv.reclaimed, replica)
			continue
		}
		inv.reclaimed[replica] = now
	}
	if len(records) == 0 {
		return nil
	}
	holds, err := inv.store.AllotmentHolds(ctx, slices.Collect(maps.Keys(holding)))
	if err != nil {
		return err
	}
	for _, r := range records {
		if r.Units > holds[r.Replica][r.ProductID] {
			if err := inv.reclaim(ctx, r.Replica, r.ProductID, holds[r.Replica][r.ProductID]); err != nil {
				return err
			}
		}
	}
	return nil
}

// revoke marks replica's lease revoked, if it still lapsed when read in
// the batch (a missing one is made revoked, so it cannot be taken anew).
func (inv *Inventory) revoke(ctx context.Context, replica string) (bool, error) {
	v, err := inv.ledger.do(ctx, Keys{Leases: []string{replica}}, func(w *Work) (any, error) {
		l := w.Leases[replica]
		if l.Found && !l.Value.Revoked && w.Now().Sub(l.Value.RenewedAt) < inv.opts.LeaseTimeout {
			return false, nil // renewed meanwhile
		}
		if !l.Value.Revoked {
			l.Value.Replica, l.Value.Revoked, l.Changed = replica, true, true
		}
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("revoke allotment %s: %w", replica, err)
	}
	return v.(bool), nil
}

// markSettled marks replica's revoked lease settled: no record holds units for
// it, and none ever will again.
func (inv *Inventory) markSettled(ctx context.Context, replica string) error {
	_, err := inv.ledger.do(ctx, Keys{Leases: []string{replica}}, func(w *Work) (any, error) {
		if l := w.Leases[replica]; l.Found && l.Value.Revoked && !l.Value.Settled {
			l.Value.Settled, l.Changed = true, true
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("settle allotment %s: %w", replica, err)
	}
	return nil
}

// reclaim gives back what replica's allotment holds of productID beyond
// held, the units its open reservations hold.
func (inv *Inventory) reclaim(ctx context.Context, replica, productID string, held int64) error {
	v, err := inv.ledger.do(ctx, Keys{Stocks: []string{productID}}, func(w *Work) (any, error) {
		s := w.Stock(productID)
		unused := s.Value.Allotted[replica] - held
		if !s.Found || unused <= 0 {
			return int64(0), nil
		}
		if err := s.Value.Unallot(replica, unused, w.Now()); err != nil {
			return nil, err
		}
		s.Changed = true
		return unused, nil
	})
	if err != nil {
		return fmt.Errorf("reclaim allotment %s of %s: %w", replica, productID, err)
	}
	if n := v.(int64); n > 0 && inv.opts.Observer.Reclaimed != nil {
		inv.opts.Observer.Reclaimed(n)
	}
	return nil
}
