package app

import (
	"context"
	"time"

	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Shoppers read availability through a cache in Redis (inventory-cache):
// the storefront's hottest reads, which would otherwise all reach
// PostgreSQL. A cached record is at most CacheTTL old. Admins, and every
// decision (reserve, release, deduct, the sweep), read PostgreSQL, the
// record of truth, so flushing or restarting Redis loses and invents
// nothing: the next read fills it again. A failing cache is passed by
// (and reported), never a failed read.

// Cache keeps copies of stock records for a while.
type Cache interface {
	// Get returns the cached records of ids that are there.
	Get(ctx context.Context, ids []string) (map[string]domain.Stock, error)
	// Put keeps stocks for ttl.
	Put(ctx context.Context, stocks []domain.Stock, ttl time.Duration) error
}

// cachedStocks reads ids through the cache: what it lacks from the store,
// which it then keeps.
func (inv *Inventory) cachedStocks(ctx context.Context, ids []string) (map[string]domain.Stock, error) {
	found, err := inv.opts.Cache.Get(ctx, ids)
	if err != nil {
		inv.opts.CacheFailed(err)
		found = map[string]domain.Stock{}
	}
	var missing []string
	for _, id := range ids {
		if _, ok := found[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return found, nil
	}
	fresh, err := inv.storedStocks(ctx, missing)
	if err != nil {
		return nil, err
	}
	kept := make([]domain.Stock, 0, len(fresh))
	for id, s := range fresh {
		found[id] = s
		kept = append(kept, s)
	}
	if len(kept) > 0 {
		if err := inv.opts.Cache.Put(ctx, kept, inv.opts.CacheTTL); err != nil {
			inv.opts.CacheFailed(err)
		}
	}
	return found, nil
}

// storedStocks reads ids from the store.
func (inv *Inventory) storedStocks(ctx context.Context, ids []string) (map[string]domain.Stock, error) {
	w, err := inv.store.Load(ctx, Keys{Stocks: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.Stock, len(ids))
	for id, s := range w.Stocks {
		if s.Found {
			out[id] = s.Value
		}
	}
	return out, nil
}
