// Package domain holds the inventory's rules: a stock record's three
// quantities and the reservations that move units between them. No HTTP,
// no Dapr: plain values and the errors their rules give.
package domain

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// Rule errors.
var (
	ErrInsufficientStock = errors.New("not enough available stock")
	ErrInvalidStockState = errors.New("reserved stock is less than reservation quantity")
	ErrTooMuchStock      = errors.New("on hand would exceed the largest quantity")
	ErrBelowHeld         = errors.New("on hand would be less than the reserved and committed stock")
	ErrRetired           = errors.New("the product was deleted from the catalog")
)

// MaxQuantity bounds every quantity and every total: 32-bit, as the
// original's columns (larger ones are refused, never wrapped).
const MaxQuantity = math.MaxInt32

// MaxProductIDLen bounds a product id (a product id or a variant SKU).
const MaxProductIDLen = 128

// Stock is one product's units. Available can be sold; Reserved is held
// by open reservations; Committed was deducted (sold, not yet shipped).
// OnHand is always their sum: no rule changes one without another.
type Stock struct {
	ProductID         string `json:"productId"`
	Available         int64  `json:"availableQuantity"`
	Reserved          int64  `json:"reservedQuantity"`
	Committed         int64  `json:"committedQuantity"`
	LowStockThreshold int64  `json:"lowStockThreshold"`
	// Allotted is the part of Reserved that replicas took ahead of demand
	// (allotment.go), by replica: units a replica has not handed out yet,
	// and those its open reservations hold.
	Allotted map[string]int64 `json:"allotted,omitempty"`
	// Retired: the catalog deleted the product. Nothing more is reserved
	// or received; what is held can still be released or deducted.
	Retired   bool      `json:"retired,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// NewStock is a product's first record, with quantity available.
func NewStock(productID string, quantity, lowStockThreshold int64, now time.Time) Stock {
	return Stock{ProductID: productID, Available: quantity, LowStockThreshold: lowStockThreshold, CreatedAt: now, UpdatedAt: now}
}

// OnHand is every unit the warehouse holds for the product.
func (s Stock) OnHand() int64 { return s.Available + s.Reserved + s.Committed }

// Low reports whether available stock is below the threshold.
func (s Stock) Low() bool { return s.Available < s.LowStockThreshold }

// Retire marks a product gone from the catalog (again is no change).
func (s *Stock) Retire(now time.Time) bool {
	if s.Retired {
		return false
	}
	s.Retired, s.UpdatedAt = true, now
	return true
}

// Add receives q more units.
func (s *Stock) Add(q int64, now time.Time) error {
	if s.Retired {
		return ErrRetired
	}
	if s.OnHand()+q > MaxQuantity {
		return ErrTooMuchStock
	}
	s.Available += q
	s.UpdatedAt = now
	return nil
}

// SetOnHand corrects the count to onHand (a stocktake): the difference is
// available or gone. Held units cannot be counted away.
func (s *Stock) SetOnHand(onHand int64, now time.Time) error {
	available := onHand - s.Reserved - s.Committed
	if available < 0 {
		return ErrBelowHeld
	}
	s.Available = available
	s.UpdatedAt = now
	return nil
}

// Hold moves q units from available to reserved.
func (s *Stock) Hold(q int64, now time.Time) error {
	if s.Retired {
		return ErrRetired
	}
	if s.Available < q {
		return ErrInsufficientStock
	}
	s.Available -= q
	s.Reserved += q
	s.UpdatedAt = now
	return nil
}

// Allot moves q units from available to reserved, held by replica's
// allotment.
func (s *Stock) Allot(replica string, q int64, now time.Time) error {
	if err := s.Hold(q, now); err != nil {
		return err
	}
	if s.Allotted == nil {
		s.Allotted = map[string]int64{}
	}
	s.Allotted[replica] += q
	return nil
}

// Unallot moves q units of replica's allotment back to available: units
// it gives back unused, or those a reservation from it held.
func (s *Stock) Unallot(replica string, q int64, now time.Time) error {
	if s.Allotted[replica] < q {
		return ErrInvalidStockState
	}
	if err := s.Unhold(q, now); err != nil {
		return err
	}
	s.unallotted(replica, q)
	return nil
}

// unallotted takes q units out of replica's allotment (they were
// unheld or committed).
func (s *Stock) unallotted(replica string, q int64) {
	if s.Allotted[replica] -= q; s.Allotted[replica] == 0 {
		delete(s.Allotted, replica)
	}
}

// Unhold moves q reserved units back to available (a release or expiry).
func (s *Stock) Unhold(q int64, now time.Time) error {
	if s.Reserved < q {
		return ErrInvalidStockState
	}
	s.Reserved -= q
	s.Available += q
	s.UpdatedAt = now
	return nil
}

// Commit moves q reserved units to committed (a deduction).
func (s *Stock) Commit(q int64, now time.Time) error {
	if s.Reserved < q {
		return ErrInvalidStockState
	}
	s.Reserved -= q
	s.Committed += q
	s.UpdatedAt = now
	return nil
}

// CheckProductID adds to errs what is wrong with a product id: blank, too
// long, or not printable text.
func CheckProductID(errs validation.Errors, field, id string) {
	errs.Text(field, id, MaxProductIDLen)
	if len(id) > MaxProductIDLen || strings.Contains(id, "||") {
		errs.Add(field, fmt.Sprintf("%s must be at most %d characters of printable text", field, MaxProductIDLen))
	}
}

// CheckQuantity adds to errs a quantity outside [least, MaxQuantity].
func CheckQuantity(errs validation.Errors, field string, q, least int64) {
	if q < least || q > MaxQuantity {
		errs.Add(field, fmt.Sprintf("%s must be between %d and %d", field, least, MaxQuantity))
	}
}
