package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Cache keeps copies of stock records in Redis through Dapr (component
// inventory-cache), "stock:<productId>", each with its own expiry.
type Cache struct{ state *statestore.Store }

// NewCache caches in state.
func NewCache(state *statestore.Store) *Cache { return &Cache{state: state} }

// Get returns the cached records of ids that are there.
func (c *Cache) Get(ctx context.Context, ids []string) (map[string]domain.Stock, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = stockKey(id)
	}
	items, err := c.state.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("stock cache: %w", err)
	}
	out := make(map[string]domain.Stock, len(ids))
	for i, it := range items {
		if !it.Found {
			continue
		}
		var s domain.Stock
		if err := json.Unmarshal(it.Value, &s); err != nil {
			return nil, fmt.Errorf("stock cache: decode %s: %w", it.Key, err)
		}
		out[ids[i]] = s
	}
	return out, nil
}

// Put keeps stocks for ttl (at least a second: Redis's grain).
func (c *Cache) Put(ctx context.Context, stocks []domain.Stock, ttl time.Duration) error {
	seconds := max(1, int(ttl/time.Second))
	ops := make([]statestore.Op, len(stocks))
	for i, s := range stocks {
		ops[i] = statestore.Op{Key: stockKey(s.ProductID), Value: s, TTL: seconds, Opaque: true}
	}
	if err := c.state.Transact(ctx, ops...); err != nil {
		return fmt.Errorf("stock cache: %w", err)
	}
	return nil
}
