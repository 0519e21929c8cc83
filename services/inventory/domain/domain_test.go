package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

var now = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func stocks(list ...Stock) map[string]*Stock {
	m := map[string]*Stock{}
	for i := range list {
		m[list[i].ProductID] = &list[i]
	}
	return m
}

func TestStockKeepsOnHandTheSum(t *testing.T) {
	s := NewStock("A", 10, 2, now)
	require.NoError(t, s.Hold(4, now))
	assert.Equal(t, Stock{ProductID: "A", Available: 6, Reserved: 4, LowStockThreshold: 2, CreatedAt: now, UpdatedAt: now}, s)
	require.ErrorIs(t, s.Hold(7, now), ErrInsufficientStock)
	require.NoError(t, s.Commit(3, now))
	require.NoError(t, s.Unhold(1, now))
	assert.Equal(t, int64(10), s.OnHand())
	assert.Equal(t, [3]int64{7, 0, 3}, [3]int64{s.Available, s.Reserved, s.Committed})
	require.ErrorIs(t, s.Unhold(1, now), ErrInvalidStockState)
	require.ErrorIs(t, s.SetOnHand(2, now), ErrBelowHeld, "committed units cannot be counted away")
	require.NoError(t, s.SetOnHand(5, now))
	assert.Equal(t, int64(2), s.Available)
	assert.False(t, s.Low(), "as many as the threshold is not low")
	require.NoError(t, s.Hold(1, now))
	assert.True(t, s.Low())
}

func TestStockRefusesMoreThan32Bits(t *testing.T) {
	s := NewStock("A", MaxQuantity-1, 0, now)
	require.NoError(t, s.Add(1, now))
	assert.ErrorIs(t, s.Add(1, now), ErrTooMuchStock)
	assert.Equal(t, int64(MaxQuantity), s.OnHand())
}

func TestReservationIsAllOrNothing(t *testing.T) {
	st := stocks(NewStock("A", 5, 0, now), NewStock("B", 1, 0, now))
	r := NewReservation("r", "o", "u", []Item{{"A", 2}, {"B", 1}, {"A", 3}}, now, time.Minute)
	assert.Equal(t, []Item{{"A", 5}, {"B", 1}}, r.Items, "one product's items are merged")

	big := NewReservation("r2", "o", "u", []Item{{"A", 1}, {"B", 2}}, now, time.Minute)
	short, err := big.Hold(st, now)
	require.ErrorIs(t, err, ErrInsufficientStock)
	assert.Equal(t, []string{"B"}, short)
	assert.Equal(t, int64(5), st["A"].Available, "nothing held when one item is short")

	_, err = r.Hold(st, now)
	require.NoError(t, err)
	assert.Equal(t, [2]int64{0, 5}, [2]int64{st["A"].Available, st["A"].Reserved})
}

func TestReservationEndsOnce(t *testing.T) {
	st := stocks(NewStock("A", 5, 0, now))
	r := NewReservation("r", "o", "u", []Item{{"A", 2}}, now, time.Minute)
	_, err := r.Hold(st, now)
	require.NoError(t, err)

	released := r
	require.NoError(t, released.Release(st, now))
	assert.Equal(t, Released, released.Status)
	assert.ErrorIs(t, released.Release(st, now), ErrAlreadyReleased)
	assert.ErrorIs(t, released.Deduct(st, now), ErrAlreadyReleased)
	assert.Equal(t, [2]int64{5, 0}, [2]int64{st["A"].Available, st["A"].Reserved})

	_, err = r.Hold(st, now)
	require.NoError(t, err)
	deducted := r
	require.NoError(t, deducted.Deduct(st, now))
	assert.ErrorIs(t, deducted.Release(st, now), ErrAlreadyDeducted)
	assert.Equal(t, [3]int64{3, 0, 2}, [3]int64{st["A"].Available, st["A"].Reserved, st["A"].Committed})
}

func TestAnExpiredReservationCannotBeDeducted(t *testing.T) {
	st := stocks(NewStock("A", 5, 0, now))
	r := NewReservation("r", "o", "u", []Item{{"A", 2}}, now, time.Minute)
	_, err := r.Hold(st, now)
	require.NoError(t, err)
	later := now.Add(time.Minute)
	assert.ErrorIs(t, r.Deduct(st, later), ErrExpired, "expired even before a sweep ended it")
	assert.Equal(t, Reserved, r.Status, "a refused deduction changes nothing")
	require.NoError(t, r.Expire(st, later))
	assert.Equal(t, Expired, r.Status)
	assert.Equal(t, int64(5), st["A"].Available)
	assert.ErrorIs(t, r.Release(st, later), ErrExpired)
}

func TestChecks(t *testing.T) {
	errs := validation.Errors{}
	CheckProductID(errs, "a", "")
	CheckProductID(errs, "b", string(make([]byte, 129)))
	CheckProductID(errs, "c", "x||y")
	CheckProductID(errs, "ok", "SKU-RED-M")
	CheckQuantity(errs, "q1", -1, 0)
	CheckQuantity(errs, "q2", MaxQuantity+1, 0)
	CheckQuantity(errs, "q3", 0, 1)
	CheckQuantity(errs, "okq", MaxQuantity, 1)
	assert.ElementsMatch(t, []string{"a", "b", "c", "q1", "q2", "q3"}, keys(errs))
}

func keys(m validation.Errors) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRetiredStockTakesNothingMoreButGivesBack(t *testing.T) {
	now := time.Now()
	s := NewStock("P", 10, 0, now)
	r := NewReservation("r1", "o1", "u1", []Item{{ProductID: "P", Quantity: 4}}, now, time.Minute)
	_, err := r.Hold(map[string]*Stock{"P": &s}, now)
	require.NoError(t, err)
	assert.True(t, s.Retire(now))
	assert.False(t, s.Retire(now), "retiring again changes nothing")

	again := NewReservation("r2", "o2", "u1", []Item{{ProductID: "P", Quantity: 1}}, now, time.Minute)
	_, err = again.Hold(map[string]*Stock{"P": &s}, now)
	assert.ErrorIs(t, err, ErrRetired)
	assert.ErrorIs(t, s.Add(1, now), ErrRetired)
	other := NewStock("Q", 10, 0, now)
	basket := NewReservation("r3", "o3", "u1", []Item{{ProductID: "Q", Quantity: 1}, {ProductID: "P", Quantity: 1}}, now, time.Minute)
	_, err = basket.Hold(map[string]*Stock{"P": &s, "Q": &other}, now)
	assert.ErrorIs(t, err, ErrRetired)
	assert.Equal(t, int64(10), other.Available, "all or none: nothing of Q was held")
	require.NoError(t, r.Release(map[string]*Stock{"P": &s}, now), "what is held is given back")
	assert.Equal(t, int64(10), s.Available)
}
