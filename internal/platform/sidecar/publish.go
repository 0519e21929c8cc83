package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// CloudEvent is an event as our services publish it: CloudEvents 1.0, JSON
// data.
type CloudEvent struct {
	ID      string // the event's own: the same on every delivery
	Type    string
	Source  string // the publishing app
	Subject string
	Time    time.Time
	Data    any
}

// Publish sends e on topic of pubsub through the sidecar's pub/sub API
// (which the app's Configuration must allow). Sent whole as a CloudEvent,
// e keeps its id, so a consumer deduplicates a second delivery by it.
func (c *Client) Publish(ctx context.Context, pubsub, topic string, e CloudEvent) error {
	body, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              e.ID,
		"type":            e.Type,
		"source":          e.Source,
		"subject":         e.Subject,
		"time":            e.Time,
		"datacontenttype": "application/json",
		"data":            e.Data,
	})
	if err != nil {
		return fmt.Errorf("publish %s: %w", e.ID, err)
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "/v1.0/publish/"+url.PathEscape(pubsub)+"/"+url.PathEscape(topic), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("publish %s: %w", e.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("publish %s: HTTP %d: %s", e.ID, resp.StatusCode, raw)
	}
	return nil
}
