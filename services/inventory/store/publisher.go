package store

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/services/inventory/app"
)

// Publisher publishes stock events through the sidecar's pub/sub API.
type Publisher struct {
	dapr          *sidecar.Client
	pubsub, topic string
}

// NewPublisher publishes on topic of pubsub through dapr.
func NewPublisher(dapr *sidecar.Client, pubsub, topic string) *Publisher {
	return &Publisher{dapr: dapr, pubsub: pubsub, topic: topic}
}

// Publish sends e as a CloudEvent with e's id.
func (p *Publisher) Publish(ctx context.Context, e app.StockEvent) error {
	return p.dapr.Publish(ctx, p.pubsub, p.topic, sidecar.CloudEvent{ID: e.ID, Type: "com.qeetmart." + e.Type,
		Source: "inventory", Subject: e.ProductID, Time: e.OccurredAt, Data: e})
}
