package domain

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// Status is where a product is in its life.
type Status string

// Statuses. Shoppers see ACTIVE and OUT_OF_STOCK products only.
const (
	Active       Status = "ACTIVE"
	Inactive     Status = "INACTIVE"
	OutOfStock   Status = "OUT_OF_STOCK"
	Discontinued Status = "DISCONTINUED"
)

// Statuses lists every status.
var Statuses = []Status{Active, Inactive, OutOfStock, Discontinued}

// MaxImages is how many image URLs a product may list.
const MaxImages = 10

// Product is one catalog item. Deleted products stay stored (their slug
// keeps naming them) but are gone from every read.
type Product struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Brand       string    `json:"brand"`
	CategoryID  string    `json:"categoryId"`
	Price       Money     `json:"price"`
	Status      Status    `json:"status"`
	Images      []string  `json:"images"`
	Variants    []Variant `json:"variants"` // oldest first
	Deleted     bool      `json:"deleted"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// ShownToShoppers reports whether anonymous and USER readers may see p.
func (p Product) ShownToShoppers() bool {
	return !p.Deleted && (p.Status == Active || p.Status == OutOfStock)
}

// ProductFields are what a client sets on a product. Price is the JSON
// number's text, read exactly (ParseMoney).
type ProductFields struct {
	Name, Description, Brand, CategoryID string
	Price, Currency                      string
	Status                               string
	Images                               []string
}

// Check trims f, reports what is wrong with it, and reads its price.
func (f *ProductFields) Check() (Money, error) {
	f.Name, f.Description, f.Brand = strings.TrimSpace(f.Name), strings.TrimSpace(f.Description), strings.TrimSpace(f.Brand)
	errs := validation.Errors{}
	errs.Text("name", f.Name, 150)
	errs.OptionalText("description", f.Description, 1000)
	errs.Text("brand", f.Brand, 100)
	if f.CategoryID == "" {
		errs.Add("categoryId", "categoryId is required")
	} else if !ids.Valid(f.CategoryID) {
		errs.Add("categoryId", "categoryId must be a category id")
	}
	var price Money
	if f.Price == "" {
		errs.Add("price", "price is required")
	} else if f.Currency == "" {
		errs.Add("currency", "currency is required")
	} else {
		var err error
		if price, err = ParseMoney(f.Price, f.Currency); errors.Is(err, ErrCurrency) {
			errs.Add("currency", err.Error())
		} else if err != nil {
			errs.Add("price", fmt.Sprintf("price must be a non-negative amount with at most %d decimals for %s", Exponent(f.Currency), f.Currency))
		}
	}
	if !slices.Contains(Statuses, Status(f.Status)) {
		errs.Add("status", "status must be one of ACTIVE, INACTIVE, OUT_OF_STOCK, DISCONTINUED")
	}
	if len(f.Images) > MaxImages {
		errs.Add("images", fmt.Sprintf("at most %d images", MaxImages))
	}
	for i, image := range f.Images {
		if !imageURL(image) {
			errs.Add(fmt.Sprintf("images[%d]", i), "an image must be an absolute https URL of at most 2048 characters")
		}
	}
	return price, errs.Err()
}

func imageURL(s string) bool {
	if len(s) > 2048 || !validation.Printable(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// Apply sets f (checked, with its price) on p at now.
func (p *Product) Apply(f ProductFields, price Money, now time.Time) {
	p.Name, p.Description, p.Brand, p.CategoryID = f.Name, f.Description, f.Brand, f.CategoryID
	p.Price, p.Status, p.UpdatedAt = price, Status(f.Status), now
	p.Images = append([]string{}, f.Images...)
}
