package domain

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

const someCategory = "01a23400-0000-7000-8000-000000000000"

func goodFields() ProductFields {
	return ProductFields{Name: " Headphones ", Brand: "Sony", CategoryID: someCategory, Price: "199.90", Currency: "USD", Status: "ACTIVE",
		Images: []string{"https://img.example.com/a.jpg"}}
}

func TestProductFieldsCheck(t *testing.T) {
	f := goodFields()
	price, err := f.Check()
	require.NoError(t, err)
	assert.Equal(t, Money{Minor: 19990, Currency: "USD"}, price)
	assert.Equal(t, "Headphones", f.Name)

	var errs validation.Errors
	bad := ProductFields{Name: strings.Repeat("n", 151), CategoryID: "7", Price: "1.999", Currency: "USD", Status: "GONE",
		Images: []string{"http://img.example.com/a.jpg", "https://user:pw@x.com/a", "javascript:alert(1)"}}
	_, err = bad.Check()
	require.ErrorAs(t, err, &errs)
	for _, field := range []string{"name", "brand", "categoryId", "price", "status", "images[0]", "images[1]", "images[2]"} {
		assert.Contains(t, errs, field)
	}
	f = goodFields()
	f.Currency = "usd"
	_, err = f.Check()
	require.ErrorAs(t, err, &errs)
	assert.Contains(t, errs, "currency")
	f = goodFields()
	f.Images = make([]string, 11)
	_, err = f.Check()
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, "at most 10 images", errs["images"])
}

func TestShownToShoppers(t *testing.T) {
	for status, shown := range map[Status]bool{Active: true, OutOfStock: true, Inactive: false, Discontinued: false} {
		assert.Equal(t, shown, Product{Status: status}.ShownToShoppers(), status)
	}
	assert.False(t, Product{Status: Active, Deleted: true}.ShownToShoppers())
}

func t0() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }

func sortedKeys(m validation.Errors) []string {
	return slices.Sorted(maps.Keys(m))
}
