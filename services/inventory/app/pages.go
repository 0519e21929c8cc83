package app

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Reservations are kept in pages: the reservations one batch makes are
// one record, not one each, so a batch of fifty reservations of a hot
// product writes two records (its stock and the page) instead of
// fifty-one. The sidecar's PostgreSQL store runs a transaction one
// statement at a time, so records per batch are what bound the rate.
//
// A reservation's id is its page's id (a UUIDv7 whose last byte is 0)
// with its place in the page in the last byte: still a UUID, still found
// by id in one read. A release, deduct or expiry rewrites the page at the
// version it read, like any record.

// pageSize bounds a page: a settlement rewrites the whole page, so a page
// stays small (a batch of more reservations opens more pages).
const pageSize = 64

// Page is a batch's reservations.
type Page struct {
	ID           string               `json:"pageId"`
	Reservations []domain.Reservation `json:"reservations"`
}

// PageOf is the page of a reservation id (false for one that is not a
// UUID in its canonical form: such an id names nothing).
func PageOf(id string) (string, bool) {
	if !ids.Valid(id) {
		return "", false
	}
	return reservationID(id, 0), true
}

// newPage is an empty page with a new id (a page's id is its place 0).
func newPage() (*Versioned[Page], error) {
	id, err := ids.New()
	if err != nil {
		return nil, err
	}
	return &Versioned[Page]{Value: Page{ID: reservationID(id, 0)}}, nil
}

// reservationID is the id of the index-th reservation of page.
func reservationID(page string, index int) string {
	u := uuid.MustParse(page)
	u[15] = byte(index)
	return u.String()
}

// nextReservationID takes the next place in the batch's open page,
// opening a page when there is none or it is full. A place taken by a
// reservation that is then refused stays empty: ids need not be dense.
func (w *Work) nextReservationID() (string, error) {
	if w.open == nil || w.taken == pageSize {
		p, err := newPage()
		if err != nil {
			return "", fmt.Errorf("reservation page: %w", err)
		}
		w.Pages[p.Value.ID], w.open, w.taken = p, p, 0
	}
	w.taken++
	return reservationID(w.open.Value.ID, w.taken-1), nil
}

// add puts a new reservation, whose id nextReservationID gave, in its page.
func (w *Work) add(r domain.Reservation) {
	p := w.Pages[reservationID(r.ID, 0)] // its page: place 0
	p.Value.Reservations = append(p.Value.Reservations, r)
	p.Changed = true
}

// Reservation is the reservation id in w (nil when it has none), and its
// page, to mark changed.
func (w *Work) Reservation(id string) (*domain.Reservation, *Versioned[Page]) {
	page, ok := PageOf(id)
	if !ok {
		return nil, nil
	}
	p := w.Pages[page]
	if p == nil || !(p.Found || p.Changed) {
		return nil, nil
	}
	for i := range p.Value.Reservations {
		if p.Value.Reservations[i].ID == id {
			return &p.Value.Reservations[i], p
		}
	}
	return nil, nil
}
