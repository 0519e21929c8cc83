package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/propagation"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/view"
)

// How a product's events leave (docs/events.md): each product write stores
// its app.Event under event:<id>, in its own transaction; the relay
// (outbox.Relay over Outbox) publishes pending events on EventsTopic, as
// the public Event, and deletes them. Stored in the domain's form, whose
// prices are strings: Dapr's state API re-encodes JSON numbers (10.00
// would come back as 10).
const (
	EventsPubsub = "events"
	EventsTopic  = "products"
)

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

func eventKey(id string) string { return "event:" + id }

// eventOp stores e, pending, in its write's transaction, with the trace
// context of the request making it (ctx).
func eventOp(ctx context.Context, e app.Event) statestore.Op {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	e.TraceParent = carrier["traceparent"]
	return statestore.Op{Key: eventKey(e.ID), Value: e, Create: true}
}

// Origin is the trace context an event was made in (outbox.Relay.Origin).
func Origin(e app.Event) string { return e.TraceParent }

// Outbox is the pending events, as the relay reads them (outbox.Source).
type Outbox struct{ s *Store }

// Outbox is s's pending events.
func (s *Store) Outbox() Outbox { return Outbox{s} }

// Pending is up to limit events not yet published, oldest first (their ids
// are UUIDv7s: time-ordered).
func (o Outbox) Pending(ctx context.Context, limit int) ([]app.Event, error) {
	rows, err := o.s.db.Query(ctx, `SELECT value FROM `+readmodel.Table+` WHERE key LIKE `+o.s.db.KeysOf("event")+
		` ORDER BY key LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[app.Event])
}

// Forget deletes published events, in one transaction.
func (o Outbox) Forget(ctx context.Context, events []app.Event) error {
	ops := make([]statestore.Op, len(events))
	for i, e := range events {
		ops[i] = statestore.Op{Key: eventKey(e.ID)}
	}
	return o.s.state.Transact(ctx, ops...)
}

// Publisher publishes events through the sidecar's pub/sub API.
type Publisher struct{ dapr *sidecar.Client }

// NewPublisher publishes through dapr.
func NewPublisher(dapr *sidecar.Client) Publisher { return Publisher{dapr: dapr} }

// Publish sends e as a CloudEvent of the public Event whose id is the
// event's, so a second publication (at least once) keeps its id.
func (p Publisher) Publish(ctx context.Context, stored app.Event) error {
	e := publicEvent(stored)
	return p.dapr.Publish(ctx, EventsPubsub, EventsTopic, sidecar.CloudEvent{ID: e.ID, Type: "com.qeetmart." + string(e.Type),
		Source: "product", Subject: e.ProductID, Time: e.OccurredAt, Data: e})
}
