package domain

import (
	"errors"
	"time"
)

// ErrAllotmentShort: a reservation meant to be served from an allotment
// alone found too few units in it (another took them first), and its
// records were not read.
var ErrAllotmentShort = errors.New("the allotment holds too few units")

// Allotment is units one replica took from products' records ahead of
// demand. Their records count them as reserved (Stock.Allotted), so no
// one else can sell them; the replica hands them to its reservations
// without writing the records again, and gives back what it does not use.
// So a product in demand costs one record write per allotment, not one
// per reservation.
type Allotment struct {
	Replica string
	Units   map[string]int64 // not handed out yet, by product
}

// Clone is a copy to change.
func (a Allotment) Clone() Allotment {
	units := make(map[string]int64, len(a.Units))
	for p, n := range a.Units {
		units[p] = n
	}
	return Allotment{Replica: a.Replica, Units: units}
}

// Take moves q units of s from available into the allotment.
func (a *Allotment) Take(s *Stock, q int64, now time.Time) error {
	if err := s.Allot(a.Replica, q, now); err != nil {
		return err
	}
	a.Units[s.ProductID] += q
	return nil
}

// GiveBack returns every unit of s the allotment holds to available.
func (a *Allotment) GiveBack(s *Stock, now time.Time) error {
	if err := s.Unallot(a.Replica, a.Units[s.ProductID], now); err != nil {
		return err
	}
	delete(a.Units, s.ProductID)
	return nil
}

// HoldFrom serves every item of r from the allotment, or none: an item
// the allotment lacks units for takes them from its record in stocks
// first, with extra[product] more when the record has them (demand
// expected soon). A product whose record was not read must be served
// from the allotment alone (ErrAllotmentShort otherwise). took lists the
// products whose records it changed; short those that lack units
// (ErrInsufficientStock).
func (r *Reservation) HoldFrom(a *Allotment, stocks map[string]*Stock, extra map[string]int64, now time.Time) (took, short []string, err error) {
	need := map[string]int64{}
	for _, it := range r.Items {
		s := stocks[it.ProductID]
		if s != nil && s.Retired {
			return nil, nil, ErrRetired
		}
		if lack := it.Quantity - a.Units[it.ProductID]; lack > 0 {
			if s == nil {
				return nil, nil, ErrAllotmentShort
			}
			if s.Available < lack {
				short = append(short, it.ProductID)
			}
			need[it.ProductID] = lack
		}
	}
	if len(short) > 0 {
		return nil, short, ErrInsufficientStock
	}
	for p, lack := range need {
		s := stocks[p]
		if err := a.Take(s, lack+min(extra[p], (s.Available-lack)/2), now); err != nil {
			return nil, nil, err // cannot happen: checked above
		}
		took = append(took, p)
	}
	for _, it := range r.Items {
		a.Units[it.ProductID] -= it.Quantity
		if a.Units[it.ProductID] == 0 {
			delete(a.Units, it.ProductID)
		}
	}
	r.Allotment = a.Replica
	return took, nil, nil
}
