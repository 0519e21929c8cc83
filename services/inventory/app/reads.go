package app

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// maxBulk bounds a bulk read.
const maxBulk = 100

// Stock reads one product's record, as who may see it now: a shopper's
// through the cache.
func (inv *Inventory) Stock(ctx context.Context, who Caller, productID string) (domain.Stock, error) {
	errs := validation.Errors{}
	if domain.CheckProductID(errs, "productId", productID); errs.Err() != nil {
		return domain.Stock{}, errs
	}
	stocks, err := inv.Stocks(ctx, who, []string{productID})
	if err != nil {
		return domain.Stock{}, err
	}
	if len(stocks) == 0 {
		return domain.Stock{}, ErrStockNotFound
	}
	return stocks[0], nil
}

// Stocks reads the records of up to 100 products, in the order asked;
// products without one are left out. Admins read the store; shoppers the
// cache, when there is one.
func (inv *Inventory) Stocks(ctx context.Context, who Caller, productIDs []string) ([]domain.Stock, error) {
	errs := validation.Errors{}
	if len(productIDs) == 0 || len(productIDs) > maxBulk {
		errs.Add("ids", "ids must name between 1 and 100 products")
	}
	for _, id := range productIDs {
		domain.CheckProductID(errs, "ids", id)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	productIDs = unique(productIDs)
	read := inv.storedStocks
	if inv.opts.Cache != nil && !who.Admin() {
		read = inv.cachedStocks
	}
	found, err := read(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Stock, 0, len(productIDs))
	for _, id := range productIDs {
		if s, ok := found[id]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Reservation reads one reservation: its owner's or, for an admin, any.
// Another caller's is not found (not forbidden: ids are not disclosed).
func (inv *Inventory) Reservation(ctx context.Context, c Caller, id string) (domain.Reservation, error) {
	page, ok := PageOf(id)
	if !ok {
		return domain.Reservation{}, ErrReservationNotFound
	}
	w, err := inv.store.Load(ctx, Keys{Pages: []string{page}})
	if err != nil {
		return domain.Reservation{}, err
	}
	r, _ := w.Reservation(id)
	if r == nil || (!c.Admin() && r.Owner != c.UserID) {
		return domain.Reservation{}, ErrReservationNotFound
	}
	return *r, nil
}

// ReservationsOfOrder lists an order's reservations the caller may see.
func (inv *Inventory) ReservationsOfOrder(ctx context.Context, c Caller, orderID string) ([]domain.Reservation, error) {
	errs := validation.Errors{}
	errs.Text("orderId", orderID, domain.MaxProductIDLen)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	all, err := inv.store.ReservationsOfOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Reservation, 0, len(all))
	for _, r := range all {
		if c.Admin() || r.Owner == c.UserID {
			out = append(out, r)
		}
	}
	return out, nil
}
