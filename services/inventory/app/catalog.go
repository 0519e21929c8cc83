package app

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// CatalogChange is what the inventory takes from one of the product
// service's events (docs/events.md): a new variant's SKU (or a variant's
// new SKU) gets a record with nothing on hand; a deleted product's records, its own and its
// variants', are retired. Both are idempotent, as at-least-once delivery
// needs: a record that exists is left as it is, a retired one stays
// retired, so an event delivered twice, or late, changes nothing more.
type CatalogChange struct {
	NewSKU         string   // a variant was created with this SKU
	DeletedProduct string   // this product was deleted...
	DeletedSKUs    []string // ...with these variants
}

// ApplyCatalogChange applies one product event's consequence.
func (inv *Inventory) ApplyCatalogChange(ctx context.Context, ch CatalogChange) error {
	if ch.NewSKU != "" {
		if err := checkIDs(ch.NewSKU); err != nil {
			return err
		}
		_, err := inv.ledger.do(ctx, Keys{Stocks: []string{ch.NewSKU}}, func(w *Work) (any, error) {
			if s := w.Stock(ch.NewSKU); !s.Found {
				s.Value, s.Found, s.Changed = domain.NewStock(ch.NewSKU, 0, 0, w.Now()), true, true
			}
			return nil, nil
		})
		return err
	}
	if ch.DeletedProduct == "" {
		return nil
	}
	ids := append([]string{ch.DeletedProduct}, ch.DeletedSKUs...)
	if err := checkIDs(ids...); err != nil {
		return err
	}
	ids = unique(ids)
	_, err := inv.ledger.do(ctx, Keys{Stocks: ids}, func(w *Work) (any, error) {
		for _, id := range ids { // only these: the batch holds others' records too
			if s := w.Stock(id); s.Found && s.Value.Retire(w.Now()) {
				s.Changed = true
			}
		}
		return nil, nil
	})
	return err
}

func checkIDs(ids ...string) error {
	errs := validation.Errors{}
	for _, id := range ids {
		domain.CheckProductID(errs, "productId", id)
	}
	return errs.Err()
}
