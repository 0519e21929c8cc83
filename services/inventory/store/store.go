// Package store keeps the inventory in its PostgreSQL state store through
// Dapr (component inventory-store): "stock:<productId>" and
// "page:<pageId>" (a batch's reservations, app/pages.go), JSON through the
// HTTP state API so that SQL can read them (readmodel.go: the lists, and
// the ledger's reads by key). A batch is one state transaction.
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

// pageDocument is a page as stored: each reservation with the times SQL
// orders and compares by, and the page's earliest due, for the sweep's
// index.
type pageDocument struct {
	ID           string                `json:"pageId"`
	Reservations []reservationDocument `json:"reservations"`
	Due          string                `json:"due,omitempty"` // while one is open
}

func toPageDocument(p app.Page) pageDocument {
	d := pageDocument{ID: p.ID, Reservations: make([]reservationDocument, len(p.Reservations))}
	for i, r := range p.Reservations {
		d.Reservations[i] = toDocument(r)
		if due := d.Reservations[i].Due; due != "" && (d.Due == "" || due < d.Due) {
			d.Due = due
		}
	}
	return d
}

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
func pageKey(id string) string         { return "page:" + id }
func receiptKey(id string) string      { return "receipt:" + id }
func eventKey(id string) string        { return "event:" + id }
func leaseKey(id string) string        { return "lease:" + id }

// leaseDocument is a lease as stored: its renewal as fixed-width text,
// which the sweep compares in SQL (LapsedLeases).
type leaseDocument struct {
	Replica   string `json:"replica"`
	RenewedAt string `json:"renewedAt"`
	Revoked   bool   `json:"revoked,omitempty"`
	Settled   bool   `json:"settled,omitempty"`
}

// Load reads every record named in one query of the table (records), not
// through the sidecar: half the time of a batch's read.
func (s *Store) Load(ctx context.Context, k app.Keys) (*app.Work, error) {
	keys := make([]string, 0, len(k.Stocks)+len(k.Pages)+len(k.Receipts)+len(k.Leases))
	for _, id := range k.Stocks {
		keys = append(keys, stockKey(id))
	}
	for _, id := range k.Pages {
		keys = append(keys, pageKey(id))
	}
	for _, id := range k.Receipts {
		keys = append(keys, receiptKey(id))
	}
	for _, id := range k.Leases {
		keys = append(keys, leaseKey(id))
	}
	w := &app.Work{Stocks: map[string]*app.Versioned[domain.Stock]{}, Pages: map[string]*app.Versioned[app.Page]{},
		Receipts: map[string]*app.Versioned[app.Receipt]{}, Leases: map[string]*app.Versioned[app.Lease]{}}
	if len(keys) == 0 {
		return w, nil
	}
	items, err := s.records(ctx, keys)
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
	for _, id := range k.Pages {
		doc := &app.Versioned[pageDocument]{}
		if err := decode(items[0], doc); err != nil {
			return nil, err
		}
		page := app.Page{ID: id, Reservations: make([]domain.Reservation, len(doc.Value.Reservations))}
		for i, r := range doc.Value.Reservations {
			page.Reservations[i] = r.Reservation
		}
		w.Pages[id] = &app.Versioned[app.Page]{Value: page, ETag: doc.ETag, Found: doc.Found}
		items = items[1:]
	}
	for _, id := range k.Receipts {
		v := &app.Versioned[app.Receipt]{}
		if err := decode(items[0], v); err != nil {
			return nil, err
		}
		w.Receipts[id], items = v, items[1:]
	}
	for _, id := range k.Leases {
		doc := &app.Versioned[leaseDocument]{}
		if err := decode(items[0], doc); err != nil {
			return nil, err
		}
		lease := app.Lease{Replica: id, Revoked: doc.Value.Revoked, Settled: doc.Value.Settled}
		if doc.Found {
			at, err := time.Parse(readmodel.SortableLayout, doc.Value.RenewedAt)
			if err != nil {
				return nil, fmt.Errorf("decode lease %s: %w", id, err)
			}
			lease.RenewedAt = at
		}
		w.Leases[id], items = &app.Versioned[app.Lease]{Value: lease, ETag: doc.ETag, Found: doc.Found}, items[1:]
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
	ops := make([]statestore.Op, 0, len(b.Stocks)+len(b.Pages)+len(b.Receipts)+len(b.Leases)+len(b.Events))
	for _, v := range b.Stocks {
		ops = append(ops, statestore.Op{Key: stockKey(v.Value.ProductID), Value: v.Value, ETag: v.ETag, Create: !v.Found || v.ETag == ""})
	}
	for _, v := range b.Pages {
		ops = append(ops, statestore.Op{Key: pageKey(v.Value.ID), Value: toPageDocument(v.Value), ETag: v.ETag, Create: !v.Found || v.ETag == ""})
	}
	for _, v := range b.Receipts {
		ops = append(ops, statestore.Op{Key: receiptKey(v.Value.ID), Value: v.Value, Create: true, TTL: int(app.ReceiptTTL / time.Second)})
	}
	for _, v := range b.Leases {
		doc := leaseDocument{Replica: v.Value.Replica, RenewedAt: readmodel.SortableTime(v.Value.RenewedAt),
			Revoked: v.Value.Revoked, Settled: v.Value.Settled}
		ops = append(ops, statestore.Op{Key: leaseKey(v.Value.Replica), Value: doc, ETag: v.ETag, Create: !v.Found || v.ETag == ""})
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

// MovePagelessReservations moves reservations stored one record each
// ("reservation:<id>", before pages) into the page their id names, in one
// transaction per page, so that a store written before keeps every
// reservation: each can still be read, released, deducted and swept. It
// returns how many it moved; a store without any moves none.
func (s *Store) MovePagelessReservations(ctx context.Context) (int, error) {
	old, err := s.pagelessReservations(ctx)
	if err != nil {
		return 0, err
	}
	pages := map[string][]domain.Reservation{}
	for _, r := range old {
		if page, ok := app.PageOf(r.ID); ok {
			pages[page] = append(pages[page], r)
		}
	}
	moved := 0
	for page, rs := range pages {
		ops := []statestore.Op{{Key: pageKey(page), Value: toPageDocument(app.Page{ID: page, Reservations: rs}), Create: true}}
		for _, r := range rs {
			ops = append(ops, statestore.Op{Key: "reservation:" + r.ID})
		}
		if err := s.state.Transact(ctx, ops...); err != nil {
			return moved, fmt.Errorf("move reservations into page %s: %w", page, err)
		}
		moved += len(rs)
	}
	return moved, nil
}
