// Package view is how the product service shows its catalog in JSON: the
// API's answers and the payloads of its events share these shapes, so a
// consumer of either reads one schema (contracts/openapi/product.yaml).
package view

import (
	"encoding/json"
	"time"

	"github.com/qeetmart/qeetmart/services/product/domain"
)

// Category is a category as clients see it.
type Category struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// OfCategory shows c.
func OfCategory(c domain.Category) Category {
	return Category{ID: c.ID, Name: c.Name, Description: c.Description, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Product is a product as clients see it. Prices are JSON numbers written
// from their exact digits (never through a float).
type Product struct {
	ID          string      `json:"id"`
	Slug        string      `json:"slug"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Brand       string      `json:"brand"`
	CategoryID  string      `json:"categoryId"`
	Price       json.Number `json:"price"`
	Currency    string      `json:"currency"`
	Status      string      `json:"status"`
	Images      []string    `json:"images"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
	Deleted     bool        `json:"deleted"`
}

// OfProduct shows p.
func OfProduct(p domain.Product) Product {
	return Product{ID: p.ID, Slug: p.Slug, Name: p.Name, Description: p.Description, Brand: p.Brand, CategoryID: p.CategoryID,
		Price: json.Number(p.Price.Amount()), Currency: p.Price.Currency, Status: string(p.Status), Images: append([]string{}, p.Images...),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Deleted: p.Deleted}
}

// Variant is a variant as clients see it.
type Variant struct {
	ID              string      `json:"id"`
	ProductID       string      `json:"productId"`
	SKU             string      `json:"sku"`
	Color           string      `json:"color"`
	Size            string      `json:"size"`
	AdditionalPrice json.Number `json:"additionalPrice"`
	CreatedAt       time.Time   `json:"createdAt"`
	UpdatedAt       time.Time   `json:"updatedAt"`
}

// OfVariant shows v of product productID.
func OfVariant(productID string, v domain.Variant) Variant {
	return Variant{ID: v.ID, ProductID: productID, SKU: v.SKU, Color: v.Color, Size: v.Size,
		AdditionalPrice: json.Number(v.AdditionalPrice.Amount()), CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}
