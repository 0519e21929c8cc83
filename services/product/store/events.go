package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/view"
)

// How a product's events leave (docs/events.md).
//
// Dapr's outbox publishes every upsert of a transaction, and the claims
// (slug, SKU) in a product write are upserts too. So the outbox publishes
// to a queue of the service's own (RelayPubsub/RelayTopic), where the
// product's row arrives as its projected change (announce) and a claim's
// as the claim; the service's subscription (Relay) forwards each change
// as one CloudEvent on the public topic and drops the claims.
const (
	RelayPubsub  = "product-outbox-relay"
	RelayTopic   = "product-changes"
	EventsPubsub = "events"
	EventsTopic  = "products"
)

// change is what the outbox publishes for a product's row: the event,
// projected over the row. A claim's row has no "productEvent".
type change struct {
	Event *app.Event `json:"productEvent"`
}

// announce is the projection that makes the outbox publish e, in place of
// product id's row. Dapr handles one projection per transaction, and only
// as its last operation.
func announce(productID string, e app.Event) statestore.Op {
	return statestore.Op{Key: productKey(productID), Value: change{Event: &e}, Projection: true}
}

// Event is the public event's data: the change, with the product as the
// API shows it and its variants.
type Event struct {
	ID         string         `json:"id"`
	Type       app.EventType  `json:"type"`
	OccurredAt time.Time      `json:"occurredAt"`
	ProductID  string         `json:"productId"`
	VariantID  string         `json:"variantId,omitempty"`
	Product    view.Product   `json:"product"`
	Variants   []view.Variant `json:"variants"`
}

func publicEvent(e app.Event) Event {
	variants := make([]view.Variant, 0, len(e.Product.Variants))
	for _, v := range e.Product.Variants {
		variants = append(variants, view.OfVariant(e.Product.ID, v))
	}
	return Event{ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt,
		ProductID: e.Product.ID, VariantID: e.VariantID, Product: view.OfProduct(e.Product), Variants: variants}
}

// Relay forwards the outbox's changes to the public topic.
type Relay struct{ dapr *sidecar.Client }

// NewRelay publishes through dapr.
func NewRelay(dapr *sidecar.Client) Relay { return Relay{dapr: dapr} }

// Forward takes one message of the relay queue (a CloudEvent). A claim is
// dropped; a change is published as a CloudEvent whose id is the event's,
// so a redelivered message (Dapr delivers at least once) keeps its id, and
// occurred is when its write was made (zero for a claim). An error means
// "deliver it again".
func (r Relay) Forward(ctx context.Context, message []byte) (occurred time.Time, err error) {
	var ce struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(message, &ce); err != nil {
		return time.Time{}, fmt.Errorf("relay: not a CloudEvent: %w", err)
	}
	var c change
	if err := json.Unmarshal(ce.Data, &c); err != nil || c.Event == nil {
		return time.Time{}, nil // a claim row: nothing to tell
	}
	e := publicEvent(*c.Event)
	err = r.dapr.Publish(ctx, EventsPubsub, EventsTopic, sidecar.CloudEvent{ID: e.ID, Type: "com.qeetmart." + string(e.Type),
		Source: "product", Subject: e.ProductID, Time: e.OccurredAt, Data: e})
	if err != nil {
		return time.Time{}, fmt.Errorf("relay: %w", err)
	}
	return e.OccurredAt, nil
}
