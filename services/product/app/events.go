package app

import (
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// EventType names what changed (docs/events.md).
type EventType string

// The catalog's events: one per committed product or variant write.
const (
	ProductCreated EventType = "product.created"
	ProductUpdated EventType = "product.updated"
	ProductDeleted EventType = "product.deleted"
	VariantCreated EventType = "variant.created"
	VariantUpdated EventType = "variant.updated"
	VariantDeleted EventType = "variant.deleted"
)

// Event is one change of a product, stored with the change itself: the
// store publishes it if and only if the write commits. ID is unique per
// event, so a consumer can drop a redelivery.
type Event struct {
	ID         string         `json:"id"`
	Type       EventType      `json:"type"`
	OccurredAt time.Time      `json:"occurredAt"`
	VariantID  string         `json:"variantId,omitempty"`
	Product    domain.Product `json:"product"` // as written
	// TraceParent is the W3C trace context of the request that made the
	// write, so that its publication links to that trace (the store sets
	// it; it is not published).
	TraceParent string `json:"traceParent,omitempty"`
}

// event is the Event of p's write, made as the write is.
func (a *Catalog) event(t EventType, p domain.Product, variantID string) (Event, error) {
	id, err := ids.New()
	return Event{ID: id, Type: t, OccurredAt: p.UpdatedAt, VariantID: variantID, Product: p}, err
}
