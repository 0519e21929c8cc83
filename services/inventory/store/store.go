// Package store keeps the inventory in its PostgreSQL state store through
// Dapr (component inventory-store): "stock:<productId>" and
// "reservation:<id>", JSON through the HTTP state API so that SQL can read
// them (readmodel.go). A batch is one state transaction.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/inventory/app"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Store is the inventory's state.
type Store struct {
	state *statestore.Store
	*ReadModel
}

// New keeps the inventory in state, listing with rm.
func New(state *statestore.Store, rm *ReadModel) *Store { return &Store{state: state, ReadModel: rm} }

// reservationDocument is a reservation as stored: with the times SQL
// orders and compares by as fixed-width text (readmodel.SortableTime).
type reservationDocument struct {
	domain.Reservation
	Created string `json:"created"`
	Due     string `json:"due,omitempty"` // open ones only: when the sweep ends it
}

func toDocument(r domain.Reservation) reservationDocument {
	d := reservationDocument{Reservation: r, Created: readmodel.SortableTime(r.CreatedAt)}
	if r.Status == domain.Reserved {
		d.Due = readmodel.SortableTime(r.ExpiresAt)
	}
	return d
}

func stockKey(productID string) string { return "stock:" + productID }
func reservationKey(id string) string  { return "reservation:" + id }
func receiptKey(id string) string      { return "receipt:" + id }
func eventKey(id string) string        { return "event:" + id }

// Load reads every record named in one bulk get.
func (s *Store) Load(ctx context.Context, k app.Keys) (*app.Work, error) {
	keys := make([]string, 0, len(k.Stocks)+len(k.Reservations)+len(k.Receipts))
	for _, id := range k.Stocks {
		keys = append(keys, stockKey(id))
	}
	for _, id := range k.Reservations {
		keys = append(keys, reservationKey(id))
	}
	for _, id := range k.Receipts {
		keys = append(keys, receiptKey(id))
	}
	w := &app.Work{Stocks: map[string]*app.Versioned[domain.Stock]{}, Reservations: map[string]*app.Versioned[domain.Reservation]{},
		Receipts: map[string]*app.Versioned[app.Receipt]{}}
	if len(keys) == 0 {
		return w, nil
	}
	items, err := s.state.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, id := range k.Stocks {
		v := &app.Versioned[domain.Stock]{Value: domain.Stock{ProductID: id}}
		if err := decode(items[0], v); err != nil {
			return nil, err
		}
		w.Stocks[id], items = v, items[1:]
	}
	for _, id := range k.Reservations {
		doc := &app.Versioned[reservationDocument]{}
		if err := decode(items[0], doc); err != nil {
			return nil, err
		}
		w.Reservations[id] = &app.Versioned[domain.Reservation]{Value: doc.Value.Reservation, ETag: doc.ETag, Found: doc.Found}
		items = items[1:]
	}
	for _, id := range k.Receipts {
		v := &app.Versioned[app.Receipt]{}
		if err := decode(items[0], v); err != nil {
			return nil, err
		}
		w.Receipts[id], items = v, items[1:]
	}
	return w, nil
}

func decode[T any](it statestore.Item, v *app.Versioned[T]) error {
	if !it.Found {
		return nil
	}
	if err := json.Unmarshal(it.Value, &v.Value); err != nil {
		return fmt.Errorf("decode %s: %w", it.Key, err)
	}
	v.ETag, v.Found = it.ETag, true
	return nil
}

// Commit writes b in one transaction: each record at its ETag, new ones
// only if absent; receipts expire after app.ReceiptTTL.
func (s *Store) Commit(ctx context.Context, b app.Batch) error {
	ops := make([]statestore.Op, 0, len(b.Stocks)+len(b.Reservations)+len(b.Receipts))
	for _, v := range b.Stocks {
		ops = append(ops, statestore.Op{Key: stockKey(v.Value.ProductID), Value: v.Value, ETag: v.ETag, Create: !v.Found || v.ETag == ""})
	}
	for _, v := range b.Reservations {
		ops = append(ops, statestore.Op{Key: reservationKey(v.Value.ID), Value: toDocument(v.Value), ETag: v.ETag, Create: !v.Found || v.ETag == ""})
	}
	for _, v := range b.Receipts {
		ops = append(ops, statestore.Op{Key: receiptKey(v.Value.ID), Value: v.Value, Create: true, TTL: int(app.ReceiptTTL / time.Second)})
	}
	for _, e := range b.Events {
		ops = append(ops, statestore.Op{Key: eventKey(e.ID), Value: e, Create: true})
	}
	return s.state.Transact(ctx, ops...)
}

// DeleteEvent removes a published stock event.
func (s *Store) DeleteEvent(ctx context.Context, id string) error {
	return s.state.Transact(ctx, statestore.Op{Key: eventKey(id)})
}
