package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/services/inventory/app"
)

// Publisher publishes stock events through the sidecar's pub/sub API, one
// CloudEvent each, with the event's own id (so a consumer deduplicates a
// second delivery by it).
type Publisher struct {
	dapr          *sidecar.Client
	pubsub, topic string
}

// NewPublisher publishes on topic of pubsub through dapr.
func NewPublisher(dapr *sidecar.Client, pubsub, topic string) *Publisher {
	return &Publisher{dapr: dapr, pubsub: pubsub, topic: topic}
}

// Publish sends e.
func (p *Publisher) Publish(ctx context.Context, e app.StockEvent) error {
	body, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              e.ID,
		"type":            "com.qeetmart." + e.Type,
		"source":          "inventory",
		"subject":         e.ProductID,
		"time":            e.OccurredAt,
		"datacontenttype": "application/json",
		"data":            e,
	})
	if err != nil {
		return err
	}
	req, err := p.dapr.NewRequest(ctx, http.MethodPost, "/v1.0/publish/"+url.PathEscape(p.pubsub)+"/"+url.PathEscape(p.topic), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := p.dapr.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("publish: HTTP %d: %s", resp.StatusCode, raw)
	}
	return nil
}
