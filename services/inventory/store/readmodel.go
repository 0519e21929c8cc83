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
		// An order's pages: containment of {"orderId": …} in the page's list.
		`CREATE INDEX IF NOT EXISTS state_page_orders ON `+readmodel.Table+
			` USING gin ((value->'reservations') jsonb_path_ops) WHERE key LIKE `+m.db.KeysOf("page"),
		`CREATE INDEX IF NOT EXISTS state_page_due ON `+readmodel.Table+
			` ((value->>'due'), key) WHERE key LIKE `+m.db.KeysOf("page")+` AND value->>'due' IS NOT NULL`,
		// The relay's query every half second: only the few pending events.
		`CREATE INDEX IF NOT EXISTS state_pending_events ON `+readmodel.Table+` (key) WHERE key LIKE `+m.db.KeysOf("event"),
		// The records some allotment holds units of, for the sweep's reclaim.
		`CREATE INDEX IF NOT EXISTS state_stock_allotted ON `+readmodel.Table+` (key) WHERE key LIKE `+m.db.KeysOf("stock")+` AND value ? 'allotted'`,
		// Reservations stored before pages are read by this once, then gone.
		`DROP INDEX IF EXISTS state_reservation_by_order`,
		`DROP INDEX IF EXISTS state_reservation_due`)
}

// ReservationsOfOrder lists an order's reservations, oldest first (at
// most 1,000: an order holds a handful).
func (m *ReadModel) ReservationsOfOrder(ctx context.Context, orderID string) ([]domain.Reservation, error) {
	rows, err := m.db.Query(ctx, `SELECT r FROM `+readmodel.Table+` p, jsonb_array_elements(p.value->'reservations') AS e(r)
		WHERE key LIKE `+m.db.KeysOf("page")+` AND p.value->'reservations' @> jsonb_build_array(jsonb_build_object('orderId', $1::text))
		AND r->>'orderId' = $1 ORDER BY r->>'created', r->>'reservationId' LIMIT 1000`, orderID)
	if err != nil {
		return nil, fmt.Errorf("reservations of order: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[domain.Reservation])
}

// pagelessReservations are the reservations stored one record each, as
// before pages (store.MovePagelessReservations).
func (m *ReadModel) pagelessReservations(ctx context.Context) ([]domain.Reservation, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("reservation"))
	if err != nil {
		return nil, fmt.Errorf("reservations without a page: %w", err)
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
	rows, err := m.db.Query(ctx, `SELECT r->>'reservationId' FROM `+readmodel.Table+` p, jsonb_array_elements(p.value->'reservations') AS e(r)
		WHERE key LIKE `+m.db.KeysOf("page")+` AND p.value->>'due' IS NOT NULL AND p.value->>'due' <= $1 AND r->>'due' <= $1
		ORDER BY p.value->>'due', key, r->>'reservationId' LIMIT $2`, readmodel.SortableTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due reservations: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// StaleAllotments are the records holding units for an allotment whose
// lease was revoked, is missing, or was last renewed before renewedBefore.
func (m *ReadModel) StaleAllotments(ctx context.Context, renewedBefore time.Time) ([]app.StaleAllotment, error) {
	rows, err := m.db.Query(ctx, `SELECT a.replica, s.value->>'productId', a.units::bigint, coalesce(l.value->>'revoked' = 'true', false)
		FROM `+readmodel.Table+` s CROSS JOIN LATERAL jsonb_each_text(s.value->'allotted') AS a(replica, units)
		LEFT JOIN `+readmodel.Table+` l ON l.key = `+m.db.KeyPrefix("lease")+` || a.replica
		WHERE s.key LIKE `+m.db.KeysOf("stock")+` AND s.value ? 'allotted'
		AND (l.key IS NULL OR l.value->>'revoked' = 'true' OR l.value->>'renewedAt' < $1)`, readmodel.SortableTime(renewedBefore))
	if err != nil {
		return nil, fmt.Errorf("stale allotments: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.StaleAllotment])
}

// AllotmentHolds are the units open reservations served from each
// replica's allotment hold, by replica and product.
func (m *ReadModel) AllotmentHolds(ctx context.Context, replicas []string) (map[string]map[string]int64, error) {
	rows, err := m.db.Query(ctx, `SELECT r->>'allotment', i->>'productId', sum((i->>'quantity')::bigint)
		FROM `+readmodel.Table+` p, jsonb_array_elements(p.value->'reservations') AS e(r), jsonb_array_elements(r->'items') AS x(i)
		WHERE p.key LIKE `+m.db.KeysOf("page")+` AND p.value->>'due' IS NOT NULL
		AND r->>'status' = 'RESERVED' AND r->>'allotment' = ANY($1) GROUP BY 1, 2`, replicas)
	if err != nil {
		return nil, fmt.Errorf("allotment holds: %w", err)
	}
	holds := map[string]map[string]int64{}
	var replica, product string
	var units int64
	_, err = pgx.ForEachRow(rows, []any{&replica, &product, &units}, func() error {
		if holds[replica] == nil {
			holds[replica] = map[string]int64{}
		}
		holds[replica][product] = units
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("allotment holds: %w", err)
	}
	return holds, nil
}
