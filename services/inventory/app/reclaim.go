package app

import (
	"context"
	"fmt"
)

// StaleAllotment is a product's record holding units for a replica whose
// lease has lapsed (or was revoked already).
type StaleAllotment struct {
	Replica, ProductID string
	Units              int64 // what the record holds for the allotment
	Revoked            bool
}

// reclaimOnce takes back what lost allotments hold unused (allotment.go):
// it revokes each lapsed lease, so that its replica, if it still runs,
// can write nothing more with it; then, for every revoked allotment,
// gives back the units its record holds beyond what the allotment's open
// reservations hold. Reading those reservations before the record, under
// a revoked lease, can only count too many of them (one settled meanwhile
// is counted, and a reservation can no longer be made from it): so a pass
// may give back too little, never too much, and the next pass gives back
// the rest.
func (inv *Inventory) reclaimOnce(ctx context.Context) error {
	stale, err := inv.store.StaleAllotments(ctx, inv.clock().Add(-inv.opts.LeaseTimeout))
	if err != nil || len(stale) == 0 {
		return err
	}
	revoked := map[string]bool{}
	for _, s := range stale {
		if _, seen := revoked[s.Replica]; seen {
			continue
		}
		if revoked[s.Replica] = s.Revoked; !s.Revoked {
			if revoked[s.Replica], err = inv.revoke(ctx, s.Replica); err != nil {
				return err
			}
		}
	}
	var replicas []string
	for r, ok := range revoked {
		if ok {
			replicas = append(replicas, r)
		}
	}
	if len(replicas) == 0 {
		return nil
	}
	holds, err := inv.store.AllotmentHolds(ctx, replicas)
	if err != nil {
		return err
	}
	for _, s := range stale {
		if revoked[s.Replica] && s.Units > holds[s.Replica][s.ProductID] {
			if err := inv.reclaim(ctx, s.Replica, s.ProductID, holds[s.Replica][s.ProductID]); err != nil {
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
