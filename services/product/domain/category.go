// Package domain is the product service's catalog model: categories (this
// file) and their rules. Plain Go: no HTTP, no Dapr.
package domain

import (
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// Category groups products. Its name is unique in the catalog, ignoring
// case.
type Category struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// CategoryFields are what a client sets on a category.
type CategoryFields struct {
	Name, Description string
}

// Check trims f and reports what is wrong with it (the original's limits:
// name 1-100 characters, description up to 500).
func (f *CategoryFields) Check() error {
	f.Name, f.Description = strings.TrimSpace(f.Name), strings.TrimSpace(f.Description)
	errs := validation.Errors{}
	errs.Text("name", f.Name, 100)
	errs.OptionalText("description", f.Description, 500)
	return errs.Err()
}

// NameKey is the form of a category name that must be unique: case and
// surrounding space ignored.
func NameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Apply sets f on c at now.
func (c *Category) Apply(f CategoryFields, now time.Time) {
	c.Name, c.Description, c.UpdatedAt = f.Name, f.Description, now
}

// CategoryName is a name as it is stored: trimmed.
func CategoryName(name string) string { return strings.TrimSpace(name) }
