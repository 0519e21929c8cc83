package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// sweepLimit bounds the reservations one sweep ends.
const sweepLimit = 500

// Sweep ends expired reservations every SweepInterval until ctx ends,
// giving their stock back. State, not timers: a reservation due while no
// replica ran is found by the first sweep after a start, and two replicas
// sweeping one reservation cannot both end it (the second finds it ended,
// or loses the write and then finds it ended).
//
// Each pass also takes back what lost allotments hold unused
// (reclaim.go), after the expiries: an expiry of a reservation from an
// allotment is one less it holds.
func (inv *Inventory) Sweep(ctx context.Context, log *slog.Logger) {
	every(ctx, inv.opts.SweepInterval, func(ctx context.Context) error {
		err := inv.sweepOnce(ctx)
		if inv.opts.LeaseTimeout > 0 {
			err = errors.Join(err, inv.reclaimOnce(ctx))
		}
		return err
	}, func(err error) { log.Warn("reservation sweep", "error", err) })
}

// every runs pass each interval until ctx ends; a failed pass is reported
// and the next one tries again.
func every(ctx context.Context, interval time.Duration, pass func(context.Context) error, failed func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			failed(err)
		}
	}
}

// sweepOnce expires what is due now, all in flight at once so that the
// ledger writes them in few batches.
func (inv *Inventory) sweepOnce(ctx context.Context) error {
	due, err := inv.store.DueReservations(ctx, inv.clock(), sweepLimit)
	if err != nil {
		inv.swept(0, err)
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(due))
	for _, id := range due {
		wg.Go(func() {
			if err := inv.Expire(ctx, id); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	err = <-errs // the first, if any: the next sweep tries again
	inv.swept(len(due), err)
	return err
}

func (inv *Inventory) swept(due int, err error) {
	if inv.opts.Observer.Swept != nil {
		inv.opts.Observer.Swept(due, err)
	}
}
