package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// MaxVariants is how many variants one product may have.
const MaxVariants = 100

// Errors of the variant rules.
var (
	ErrTooManyVariants = errors.New("variant limit reached")
	ErrVariantNotFound = errors.New("variant not found")
)

// Variant is one buyable form of a product (a colour, a size), with its own
// SKU, unique across the catalog ignoring case. Variants live inside their
// product: one document, one version.
type Variant struct {
	ID              string    `json:"id"`
	SKU             string    `json:"sku"`
	Color           string    `json:"color"`
	Size            string    `json:"size"`
	AdditionalPrice Money     `json:"additionalPrice"` // in the product's currency
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// SKUKey is the form of a SKU that must be unique: case and surrounding
// space ignored.
func SKUKey(sku string) string { return strings.ToLower(strings.TrimSpace(sku)) }

// VariantFields are what a client sets on a variant; AdditionalPrice is the
// JSON number's text ("" is 0).
type VariantFields struct {
	SKU, Color, Size, AdditionalPrice string
}

// Check trims f and reports what is wrong with it; the additional price is
// read in currency (the product's).
func (f *VariantFields) Check(currency string) (Money, error) {
	f.SKU, f.Color, f.Size = strings.TrimSpace(f.SKU), strings.TrimSpace(f.Color), strings.TrimSpace(f.Size)
	errs := validation.Errors{}
	errs.Text("sku", f.SKU, 100)
	if strings.Contains(f.SKU, "||") {
		errs.Add("sku", "sku must not contain ||")
	}
	errs.OptionalText("color", f.Color, 50)
	errs.OptionalText("size", f.Size, 50)
	price := Money{Currency: currency}
	if f.AdditionalPrice != "" {
		var err error
		if price, err = ParseMoney(f.AdditionalPrice, currency); err != nil {
			errs.Add("additionalPrice", fmt.Sprintf("additionalPrice must be a non-negative amount with at most %d decimals for %s", Exponent(currency), currency))
		}
	}
	return price, errs.Err()
}

// AddVariant adds a variant with id at now.
func (p *Product) AddVariant(id string, f VariantFields, price Money, now time.Time) (Variant, error) {
	if len(p.Variants) >= MaxVariants {
		return Variant{}, ErrTooManyVariants
	}
	v := Variant{ID: id, SKU: f.SKU, Color: f.Color, Size: f.Size, AdditionalPrice: price, CreatedAt: now, UpdatedAt: now}
	p.Variants = append(p.Variants, v)
	p.UpdatedAt = now
	return v, nil
}

// ReplaceVariant sets every field of variant id; it returns the variant as
// it was, too (its SKU may move).
func (p *Product) ReplaceVariant(id string, f VariantFields, price Money, now time.Time) (was, is Variant, err error) {
	i := p.variantIndex(id)
	if i < 0 {
		return Variant{}, Variant{}, ErrVariantNotFound
	}
	was = p.Variants[i]
	v := &p.Variants[i]
	v.SKU, v.Color, v.Size, v.AdditionalPrice, v.UpdatedAt = f.SKU, f.Color, f.Size, price, now
	p.UpdatedAt = now
	return was, *v, nil
}

// RemoveVariant deletes variant id and returns it.
func (p *Product) RemoveVariant(id string, now time.Time) (Variant, error) {
	i := p.variantIndex(id)
	if i < 0 {
		return Variant{}, ErrVariantNotFound
	}
	v := p.Variants[i]
	p.Variants = slices.Delete(p.Variants, i, i+1)
	p.UpdatedAt = now
	return v, nil
}

func (p *Product) variantIndex(id string) int {
	return slices.IndexFunc(p.Variants, func(v Variant) bool { return v.ID == id })
}
