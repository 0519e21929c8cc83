package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An allotment takes units from a record once and serves reservations
// without it; their settlements and its give-back keep the record's books.
func TestAnAllotmentServesReservationsWithoutTheirRecord(t *testing.T) {
	s := NewStock("A", 100, 0, now)
	a := Allotment{Replica: "r1", Units: map[string]int64{}}
	books := func() [4]int64 { return [4]int64{s.Available, s.Reserved, s.Committed, s.Allotted["r1"]} }

	first := NewReservation("1", "o", "u", []Item{{"A", 3}}, now, time.Minute)
	took, _, err := first.HoldFrom(&a, map[string]*Stock{"A": &s}, map[string]int64{"A": 10}, now)
	require.NoError(t, err)
	assert.Equal(t, []string{"A"}, took, "the record it changed")
	assert.Equal(t, [4]int64{87, 13, 0, 13}, books(), "3 for it and 10 ahead, all held for r1")
	assert.Equal(t, int64(10), a.Units["A"])
	assert.Equal(t, "r1", first.Allotment)

	second := NewReservation("2", "o", "u", []Item{{"A", 4}}, now, time.Minute)
	took, _, err = second.HoldFrom(&a, nil, nil, now)
	require.NoError(t, err, "served from the allotment alone")
	assert.Empty(t, took)
	assert.Equal(t, [4]int64{87, 13, 0, 13}, books(), "the record is not touched")
	assert.Equal(t, int64(6), a.Units["A"])

	third := NewReservation("3", "o", "u", []Item{{"A", 7}}, now, time.Minute)
	_, _, err = third.HoldFrom(&a, nil, nil, now)
	require.ErrorIs(t, err, ErrAllotmentShort)
	assert.Equal(t, int64(6), a.Units["A"], "a refusal takes nothing")
	_, _, err = third.HoldFrom(&a, map[string]*Stock{"A": &s}, nil, now)
	require.NoError(t, err, "with the record read, the lack is taken from it")
	assert.Equal(t, [4]int64{86, 14, 0, 14}, books())
	assert.Zero(t, a.Units["A"])

	require.NoError(t, first.Release(map[string]*Stock{"A": &s}, now))
	require.NoError(t, second.Deduct(map[string]*Stock{"A": &s}, now))
	assert.Equal(t, [4]int64{89, 7, 4, 7}, books(), "what they held leaves the allotment")
	assert.Equal(t, int64(100), s.OnHand())

	a.Units["A"] = 0
	require.NoError(t, a.GiveBack(&s, now))
	require.NoError(t, third.Expire(map[string]*Stock{"A": &s}, now))
	assert.Equal(t, [4]int64{96, 0, 4, 0}, books())
	assert.Empty(t, s.Allotted, "an allotment holding nothing is gone from the record")
}

func TestAnAllotmentTakesNoMoreThanItMay(t *testing.T) {
	s := NewStock("A", 5, 0, now)
	a := Allotment{Replica: "r1", Units: map[string]int64{}}
	r := NewReservation("1", "o", "u", []Item{{"A", 3}}, now, time.Minute)
	_, _, err := r.HoldFrom(&a, map[string]*Stock{"A": &s}, map[string]int64{"A": 100}, now)
	require.NoError(t, err)
	assert.Equal(t, int64(1), a.Units["A"], "ahead, at most half of what is left")
	assert.Equal(t, int64(1), s.Available)

	big := NewReservation("2", "o", "u", []Item{{"A", 3}}, now, time.Minute)
	_, short, err := big.HoldFrom(&a, map[string]*Stock{"A": &s}, nil, now)
	require.ErrorIs(t, err, ErrInsufficientStock)
	assert.Equal(t, []string{"A"}, short)
	assert.Equal(t, [2]int64{1, 1}, [2]int64{s.Available, a.Units["A"]}, "nothing taken")

	s.Retired = true
	_, _, err = big.HoldFrom(&a, map[string]*Stock{"A": &s}, nil, now)
	require.ErrorIs(t, err, ErrRetired)
	require.NoError(t, a.GiveBack(&s, now), "a retired product's units still go back")
	assert.Equal(t, [2]int64{2, 3}, [2]int64{s.Available, s.Reserved})
}
