package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/outbox"
)

// When a batch takes a product's available stock below its
// lowStockThreshold, or brings it back to the threshold or above, the
// batch also writes a stock event: in the same state transaction, so an
// event exists if and only if its change does (a transactional outbox of
// the inventory's own). The relay publishes pending events through the
// sidecar and then deletes them: at least once (a crash between the two
// publishes again, with the same id), never for a change that did not
// commit. Crossings only: a batch that leaves a product low sends nothing
// more.

// Stock event types (docs/events.md).
const (
	EventStockLow      = "stock.low"
	EventStockRestored = "stock.restored"
)

// StockEvent is one crossing of a product's threshold.
type StockEvent struct {
	ID                string    `json:"id"`
	Type              string    `json:"type"`
	ProductID         string    `json:"productId"`
	Available         int64     `json:"availableQuantity"`
	LowStockThreshold int64     `json:"lowStockThreshold"`
	OccurredAt        time.Time `json:"occurredAt"`
}

// Publisher sends a stock event on (the sidecar's pub/sub).
type Publisher interface {
	Publish(ctx context.Context, e StockEvent) error
}

// lowAtLoad is which of the records a batch read were low before it.
func lowAtLoad(w *Work) map[string]bool {
	low := make(map[string]bool, len(w.Stocks))
	for id, s := range w.Stocks {
		low[id] = s.Found && s.Value.Low()
	}
	return low
}

// crossings are the stock events of a batch's changes.
func crossings(w *Work, wasLow map[string]bool) ([]StockEvent, error) {
	var events []StockEvent
	for id, s := range w.Stocks {
		if !s.Changed || s.Value.Low() == wasLow[id] {
			continue
		}
		eid, err := ids.New()
		if err != nil {
			return nil, err
		}
		e := StockEvent{ID: eid, Type: EventStockRestored, ProductID: id, Available: s.Value.Available,
			LowStockThreshold: s.Value.LowStockThreshold, OccurredAt: w.Now()}
		if s.Value.Low() {
			e.Type = EventStockLow
		}
		events = append(events, e)
	}
	return events, nil
}

// relayLimit bounds the events one relay pass publishes.
const relayLimit = 100

// Relay publishes pending stock events every interval until ctx ends.
func (inv *Inventory) Relay(ctx context.Context, p Publisher, interval time.Duration, log *slog.Logger) {
	outbox.Relay[StockEvent]{Source: pendingEvents{inv.store}, Publish: p.Publish, Batch: relayLimit,
		OccurredAt: func(e StockEvent) time.Time { return e.OccurredAt }}.Run(ctx, interval, log)
}

// pendingEvents are the store's stock events, as the relay reads them.
type pendingEvents struct{ store Store }

func (p pendingEvents) Pending(ctx context.Context, limit int) ([]StockEvent, error) {
	return p.store.PendingEvents(ctx, limit)
}

func (p pendingEvents) Forget(ctx context.Context, events []StockEvent) error {
	for _, e := range events {
		if err := p.store.DeleteEvent(ctx, e.ID); err != nil {
			return err
		}
	}
	return nil
}
