package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/services/inventory/app"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// ReadModel answers with SQL what keys cannot: an order's reservations,
// the reservations due to expire, and the stock events not yet published.
type ReadModel struct{ db *readmodel.DB }

// NewReadModel reads the inventory database through db.
func NewReadModel(db *readmodel.DB) *ReadModel { return &ReadModel{db: db} }

// EnsureIndexes adds the indexes the queries use.
func (m *ReadModel) EnsureIndexes(ctx context.Context) error {
	return m.db.EnsureIndexes(ctx,
		`CREATE INDEX IF NOT EXISTS state_reservation_by_order ON `+readmodel.Table+
			` ((value->>'orderId'), (value->>'created'), key) WHERE key LIKE `+m.db.KeysOf("reservation"),
		`CREATE INDEX IF NOT EXISTS state_reservation_due ON `+readmodel.Table+
			` ((value->>'due'), key) WHERE key LIKE `+m.db.KeysOf("reservation")+` AND value->>'due' IS NOT NULL`,
		// The relay's query every half second: only the few pending events.
		`CREATE INDEX IF NOT EXISTS state_pending_events ON `+readmodel.Table+` (key) WHERE key LIKE `+m.db.KeysOf("event"))
}

// ReservationsOfOrder lists an order's reservations, oldest first (at
// most 1,000: an order holds a handful).
func (m *ReadModel) ReservationsOfOrder(ctx context.Context, orderID string) ([]domain.Reservation, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("reservation")+
		` AND value->>'orderId' = $1 ORDER BY value->>'created', key LIMIT 1000`, orderID)
	if err != nil {
		return nil, fmt.Errorf("reservations of order: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[domain.Reservation])
}

// PendingEvents are up to limit stock events not yet published, oldest
// first (their ids are UUIDv7s: time-ordered).
func (m *ReadModel) PendingEvents(ctx context.Context, limit int) ([]app.StockEvent, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("event")+
		` ORDER BY key LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[app.StockEvent])
}

// DueReservations are the ids of up to limit open reservations whose time
// ran out by now, the longest overdue first.
func (m *ReadModel) DueReservations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := m.db.Query(ctx, `SELECT value->>'reservationId' FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("reservation")+
		` AND value->>'due' IS NOT NULL AND value->>'due' <= $1 ORDER BY value->>'due', key LIMIT $2`, readmodel.SortableTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due reservations: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
