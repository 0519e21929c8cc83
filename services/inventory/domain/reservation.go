package domain

import (
	"errors"
	"time"
)

// Status is where a reservation is in its life.
type Status string

// A reservation starts RESERVED and ends once: RELEASED (given back),
// DEDUCTED (sold) or EXPIRED (its time ran out first).
const (
	Reserved Status = "RESERVED"
	Released Status = "RELEASED"
	Deducted Status = "DEDUCTED"
	Expired  Status = "EXPIRED"
)

// Reservation errors.
var (
	ErrAlreadyReleased = errors.New("reservation already released")
	ErrAlreadyDeducted = errors.New("reservation already deducted")
	ErrExpired         = errors.New("reservation expired")
)

// Item is one product's units in a reservation.
type Item struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

// Reservation holds units of one or more products for an order, all or
// none, until it is released, deducted or expires.
type Reservation struct {
	ID      string `json:"reservationId"`
	OrderID string `json:"orderId"`
	Owner   string `json:"owner"` // the user who reserved
	Items   []Item `json:"items"`
	// Allotment names the replica whose allotment the units came from
	// (none: they were held from the records directly).
	Allotment string    `json:"allotment,omitempty"`
	Status    Status    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ProductIDs are the products r holds units of.
func (r Reservation) ProductIDs() []string {
	ids := make([]string, 0, len(r.Items))
	for _, it := range r.Items {
		ids = append(ids, it.ProductID)
	}
	return ids
}

// ExpiredAt reports whether r's time has run out at now (whatever its
// status says: a sweep may not have reached it yet).
func (r Reservation) ExpiredAt(now time.Time) bool { return !now.Before(r.ExpiresAt) }

// NewReservation holds items for an order until ttl from now; items of
// one product are merged, so each product appears once.
func NewReservation(id, orderID, owner string, items []Item, now time.Time, ttl time.Duration) Reservation {
	merged := make([]Item, 0, len(items))
	at := map[string]int{}
	for _, it := range items {
		if i, ok := at[it.ProductID]; ok {
			merged[i].Quantity += it.Quantity
			continue
		}
		at[it.ProductID] = len(merged)
		merged = append(merged, it)
	}
	return Reservation{ID: id, OrderID: orderID, Owner: owner, Items: merged, Status: Reserved,
		ExpiresAt: now.Add(ttl), CreatedAt: now, UpdatedAt: now}
}

// open says why r can no longer change, if it cannot: it has ended.
func (r Reservation) open() error {
	switch r.Status {
	case Released:
		return ErrAlreadyReleased
	case Deducted:
		return ErrAlreadyDeducted
	case Expired:
		return ErrExpired
	}
	return nil
}

// Hold takes every item of r out of available stock, or none: stocks maps
// each item's product to its record. short lists the products that lack
// units (ErrInsufficientStock).
func (r Reservation) Hold(stocks map[string]*Stock, now time.Time) (short []string, err error) {
	for _, it := range r.Items {
		if stocks[it.ProductID].Retired {
			return nil, ErrRetired
		}
	}
	for _, it := range r.Items {
		if stocks[it.ProductID].Available < it.Quantity {
			short = append(short, it.ProductID)
		}
	}
	if len(short) > 0 {
		return short, ErrInsufficientStock
	}
	for _, it := range r.Items {
		if err := stocks[it.ProductID].Hold(it.Quantity, now); err != nil {
			return nil, err // cannot happen: checked above
		}
	}
	return nil, nil
}

// Release gives r's units back to available.
func (r *Reservation) Release(stocks map[string]*Stock, now time.Time) error {
	return r.settle(Released, stocks, now, (*Stock).Unhold)
}

// Deduct sells r's units: reserved becomes committed. An expired
// reservation cannot be deducted, even before a sweep has ended it.
func (r *Reservation) Deduct(stocks map[string]*Stock, now time.Time) error {
	if r.open() == nil && r.ExpiredAt(now) {
		return ErrExpired
	}
	return r.settle(Deducted, stocks, now, (*Stock).Commit)
}

// Expire gives an expired reservation's units back (the sweep).
func (r *Reservation) Expire(stocks map[string]*Stock, now time.Time) error {
	return r.settle(Expired, stocks, now, (*Stock).Unhold)
}

func (r *Reservation) settle(to Status, stocks map[string]*Stock, now time.Time, move func(*Stock, int64, time.Time) error) error {
	if err := r.open(); err != nil {
		return err
	}
	for _, it := range r.Items {
		s := stocks[it.ProductID]
		if s.Reserved < it.Quantity || (r.Allotment != "" && s.Allotted[r.Allotment] < it.Quantity) {
			return ErrInvalidStockState
		}
	}
	for _, it := range r.Items {
		s := stocks[it.ProductID]
		if err := move(s, it.Quantity, now); err != nil {
			return err // cannot happen: checked above
		}
		if r.Allotment != "" {
			s.unallotted(r.Allotment, it.Quantity)
		}
	}
	r.Status, r.UpdatedAt = to, now
	return nil
}
