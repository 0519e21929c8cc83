package domain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

func TestVariantFieldsCheck(t *testing.T) {
	f := VariantFields{SKU: " WH-BLK ", Color: "Black"}
	price, err := f.Check("USD")
	require.NoError(t, err)
	assert.Equal(t, Money{Currency: "USD"}, price, "no additional price is 0")
	assert.Equal(t, "WH-BLK", f.SKU)
	f.AdditionalPrice = "10.5"
	price, err = f.Check("USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1050), price.Minor)

	var errs validation.Errors
	bad := VariantFields{SKU: "a||b", Color: strings.Repeat("c", 51), Size: strings.Repeat("s", 51), AdditionalPrice: "1.5"}
	_, err = bad.Check("JPY")
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, []string{"additionalPrice", "color", "size", "sku"}, sortedKeys(errs))
	_, err = (&VariantFields{}).Check("USD")
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, "sku is required", errs["sku"])
}

func TestVariants(t *testing.T) {
	var p Product
	for i := range MaxVariants {
		_, err := p.AddVariant(string(rune('a'+i%26))+strings.Repeat("x", i/26), VariantFields{SKU: "s"}, Money{}, t0())
		require.NoError(t, err)
	}
	_, err := p.AddVariant("one-too-many", VariantFields{SKU: "s"}, Money{}, t0())
	assert.ErrorIs(t, err, ErrTooManyVariants)
	was, is, err := p.ReplaceVariant("a", VariantFields{SKU: "new"}, Money{}, t0())
	require.NoError(t, err)
	assert.Equal(t, "s", was.SKU)
	assert.Equal(t, "new", is.SKU)
	removed, err := p.RemoveVariant("a", t0())
	require.NoError(t, err)
	assert.Equal(t, "new", removed.SKU)
	assert.Len(t, p.Variants, MaxVariants-1)
	_, err = p.RemoveVariant("a", t0())
	assert.ErrorIs(t, err, ErrVariantNotFound)
	_, _, err = p.ReplaceVariant("a", VariantFields{}, Money{}, t0())
	assert.ErrorIs(t, err, ErrVariantNotFound)
	assert.Equal(t, SKUKey(" WH-blk"), SKUKey("wh-BLK "))
}
