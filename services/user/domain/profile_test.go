package domain

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func fields(street string, isDefault *bool) AddressFields {
	return AddressFields{Street: street, City: "Pune", State: "MH", Pincode: "411001", Country: "India", IsDefault: isDefault}
}

// defaults lists the streets of the default addresses.
func defaults(p Profile) []string {
	var out []string
	for _, a := range p.Addresses {
		if a.IsDefault {
			out = append(out, a.Street)
		}
	}
	return out
}

func add(t *testing.T, p *Profile, street string, isDefault *bool) Address {
	t.Helper()
	a, err := p.AddAddress("id-"+street, fields(street, isDefault), t0)
	require.NoError(t, err)
	return a
}

func TestDetailsCheck(t *testing.T) {
	d := Details{Name: "  Ann  ", Email: " Ann@Example.com", Phone: " +91 (20) 555-0100 "}
	require.NoError(t, d.Check())
	assert.Equal(t, Details{Name: "Ann", Email: "ann@example.com", Phone: "+91 (20) 555-0100"}, d)

	tests := []struct {
		d    Details
		want validation.Errors
	}{
		{Details{}, validation.Errors{"name": "name is required", "email": "email is required", "phone": "phone is required"}},
		{Details{Name: strings.Repeat("x", 121), Email: "ann", Phone: "12345"},
			validation.Errors{"name": "name must be at most 120 characters", "email": "email must be valid", "phone": "phone must be a valid number"}},
		{Details{Name: "A\x00n", Email: "ann@example.com", Phone: "phone-number"},
			validation.Errors{"name": "name must not contain control characters", "phone": "phone must be a valid number"}},
		{Details{Name: "Ann", Email: "ann@example.com", Phone: strings.Repeat("1", 21)}, validation.Errors{"phone": "phone must be a valid number"}},
	}
	for _, tt := range tests {
		err := tt.d.Check()
		var got validation.Errors
		require.ErrorAs(t, err, &got, "%+v", tt.d)
		assert.Equal(t, tt.want, got, "%+v", tt.d)
	}
}

func TestAddressFieldsCheck(t *testing.T) {
	f := fields("  1 Main St ", nil)
	require.NoError(t, f.Check(false))
	assert.Equal(t, "1 Main St", f.Street)
	var errs validation.Errors
	require.ErrorAs(t, f.Check(true), &errs)
	assert.Equal(t, validation.Errors{"isDefault": "isDefault is required"}, errs)

	long := AddressFields{Street: strings.Repeat("s", 256), City: strings.Repeat("c", 121), State: strings.Repeat("s", 121), Pincode: strings.Repeat("1", 21), Country: strings.Repeat("c", 121)}
	require.ErrorAs(t, long.Check(false), &errs)
	assert.Len(t, errs, 5)
	assert.Equal(t, "street must be at most 255 characters", errs["street"])
	require.ErrorAs(t, (&AddressFields{}).Check(false), &errs)
	assert.Equal(t, "pincode is required", errs["pincode"])
}

func TestFirstAddressIsTheDefault(t *testing.T) {
	var p Profile
	add(t, &p, "a", no())
	add(t, &p, "b", nil)
	assert.Equal(t, []string{"a"}, defaults(p))
	add(t, &p, "c", yes())
	assert.Equal(t, []string{"c"}, defaults(p), "asking for the default takes it")
}

func TestGivingUpTheDefaultPassesItToTheOldestOther(t *testing.T) {
	var p Profile
	add(t, &p, "a", nil)
	add(t, &p, "b", nil)
	add(t, &p, "c", yes())
	_, err := p.ReplaceAddress("id-c", fields("c", no()), t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, defaults(p))
	_, err = p.ReplaceAddress("id-a", fields("a2", no()), t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, defaults(p), "the oldest other than a")
	_, err = p.ReplaceAddress("id-c", fields("c", yes()), t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, defaults(p))

	var sole Profile
	add(t, &sole, "only", nil)
	_, err = sole.ReplaceAddress("id-only", fields("only", no()), t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"only"}, defaults(sole), "a sole address stays the default")
}

func TestRemovingTheDefaultPromotesTheOldest(t *testing.T) {
	var p Profile
	add(t, &p, "a", nil)
	add(t, &p, "b", nil)
	add(t, &p, "c", yes())
	require.NoError(t, p.RemoveAddress("id-c", t0))
	assert.Equal(t, []string{"a"}, defaults(p))
	require.NoError(t, p.RemoveAddress("id-b", t0))
	assert.Equal(t, []string{"a"}, defaults(p), "removing another keeps the default")
	require.NoError(t, p.RemoveAddress("id-a", t0))
	assert.Empty(t, p.Addresses)
	assert.ErrorIs(t, p.RemoveAddress("id-a", t0), ErrAddressNotFound)
	_, err := p.ReplaceAddress("nope", fields("x", no()), t0)
	assert.ErrorIs(t, err, ErrAddressNotFound)
}

func TestAtMostMaxAddresses(t *testing.T) {
	var p Profile
	for i := range MaxAddresses {
		add(t, &p, fmt.Sprint(i), nil)
	}
	_, err := p.AddAddress("one-too-many", fields("x", yes()), t0)
	assert.ErrorIs(t, err, ErrTooManyAddresses)
	assert.Len(t, p.Addresses, MaxAddresses)
	assert.Equal(t, []string{"0"}, defaults(p), "a refused address changes nothing")
	a, ok := p.Address("id-3")
	assert.True(t, ok)
	assert.Equal(t, "3", a.Street)
}
