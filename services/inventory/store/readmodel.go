package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
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
		// An order's pages, and an allotment's: the one field of each
		// reservation, not all of them (an index of every field of 64
		// reservations made each page's write cost far more).
		`CREATE INDEX IF NOT EXISTS state_page_order_ids ON `+readmodel.Table+
			` USING gin ((`+pageOrderIDs+`) jsonb_path_ops) WHERE key LIKE `+m.db.KeysOf("page"),
		`CREATE INDEX IF NOT EXISTS state_page_allotments ON `+readmodel.Table+
			` USING gin ((`+pageAllotments+`) jsonb_path_ops) WHERE key LIKE `+m.db.KeysOf("page"),
		`DROP INDEX IF EXISTS state_page_orders`,
		`CREATE INDEX IF NOT EXISTS state_page_due ON `+readmodel.Table+
			` ((value->>'due'), key) WHERE key LIKE `+m.db.KeysOf("page")+` AND value->>'due' IS NOT NULL`,
		// The relay's query every half second: only the few pending events.
		`CREATE INDEX IF NOT EXISTS state_pending_events ON `+readmodel.Table+` (key) WHERE key LIKE `+m.db.KeysOf("event"),
		// The records some allotment holds units of, and the leases not
		// settled, for the sweep's reclaim.
		`CREATE INDEX IF NOT EXISTS state_stock_allotted ON `+readmodel.Table+` (key) WHERE key LIKE `+m.db.KeysOf("stock")+` AND value ? 'allotted'`,
		`CREATE INDEX IF NOT EXISTS state_open_leases ON `+readmodel.Table+` (key) WHERE key LIKE `+m.db.KeysOf("lease")+` AND value->>'settled' IS NULL`,
		// Reservations stored before pages are read by this once, then gone.
		`DROP INDEX IF EXISTS state_reservation_by_order`,
		`DROP INDEX IF EXISTS state_reservation_due`)
}

// pageOrderIDs and pageAllotments are the indexed expressions: the
// orderId, and the allotment, of each of a page's reservations.
const (
	pageOrderIDs   = `jsonb_path_query_array(value->'reservations', '$[*].orderId')`
	pageAllotments = `jsonb_path_query_array(value->'reservations', '$[*].allotment')`
)

// ReservationsOfOrder lists an order's reservations, oldest first (at
// most 1,000: an order holds a handful).
func (m *ReadModel) ReservationsOfOrder(ctx context.Context, orderID string) ([]domain.Reservation, error) {
	rows, err := m.db.Query(ctx, `SELECT r FROM `+readmodel.Table+` p, jsonb_array_elements(p.value->'reservations') AS e(r)
		WHERE key LIKE `+m.db.KeysOf("page")+` AND `+pageOrderIDs+` @> jsonb_build_array($1::text)
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

// LapsedLeases are the allotments' leases revoked or last renewed before
// renewedBefore, and not settled.
func (m *ReadModel) LapsedLeases(ctx context.Context, renewedBefore time.Time) ([]app.Lease, error) {
	rows, err := m.db.Query(ctx, `SELECT value->>'replica', value->>'renewedAt', coalesce(value->>'revoked' = 'true', false)
		FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("lease")+` AND value->>'settled' IS NULL
		AND (value->>'revoked' = 'true' OR value->>'renewedAt' < $1)`, readmodel.SortableTime(renewedBefore))
	if err != nil {
		return nil, fmt.Errorf("lapsed leases: %w", err)
	}
	var leases []app.Lease
	var l app.Lease
	var renewed string
	_, err = pgx.ForEachRow(rows, []any{&l.Replica, &renewed, &l.Revoked}, func() error {
		at, err := time.Parse(readmodel.SortableLayout, renewed)
		if err != nil {
			return fmt.Errorf("lease %s: %w", l.Replica, err)
		}
		l.RenewedAt = at
		leases = append(leases, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lapsed leases: %w", err)
	}
	return leases, nil
}

// AllottedTo are the units the stock records hold for any of replicas.
func (m *ReadModel) AllottedTo(ctx context.Context, replicas []string) ([]app.AllottedUnits, error) {
	rows, err := m.db.Query(ctx, `SELECT a.replica, s.value->>'productId', a.units::bigint
		FROM `+readmodel.Table+` s CROSS JOIN LATERAL jsonb_each_text(s.value->'allotted') AS a(replica, units)
		WHERE s.key LIKE `+m.db.KeysOf("stock")+` AND s.value ? 'allotted' AND s.value->'allotted' ?| $1
		AND a.replica = ANY($1)`, replicas)
	if err != nil {
		return nil, fmt.Errorf("allotted units: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.AllottedUnits])
}

// AllotmentHolds are the units open reservations served from each
// replica's allotment hold, by replica and product. Each replica's pages
// are found through their index (state_page_allotments), not by reading
// every open page.
func (m *ReadModel) AllotmentHolds(ctx context.Context, replicas []string) (map[string]map[string]int64, error) {
	holds := map[string]map[string]int64{}
	for _, replica := range replicas {
		rows, err := m.db.Query(ctx, `SELECT i->>'productId', sum((i->>'quantity')::bigint)
			FROM `+readmodel.Table+` p, jsonb_array_elements(p.value->'reservations') AS e(r), jsonb_array_elements(r->'items') AS x(i)
			WHERE p.key LIKE `+m.db.KeysOf("page")+` AND `+pageAllotments+` @> jsonb_build_array($1::text)
			AND p.value->>'due' IS NOT NULL AND r->>'status' = 'RESERVED' AND r->>'allotment' = $1 GROUP BY 1`, replica)
		if err != nil {
			return nil, fmt.Errorf("allotment holds: %w", err)
		}
		held := map[string]int64{}
		var product string
		var units int64
		if _, err := pgx.ForEachRow(rows, []any{&product, &units}, func() error {
			held[product] = units
			return nil
		}); err != nil {
			return nil, fmt.Errorf("allotment holds of %s: %w", replica, err)
		}
		holds[replica] = held
	}
	return holds, nil
}

// records reads keys as Dapr's state API would (statestore.GetMany), in
// the order asked, straight from the table: each row's JSON and its
// version, the ETag state.postgresql v1 compares a write against (the
// row's xmin). The ledger's reads take this way, one query, rather than
// through the sidecar.
func (m *ReadModel) records(ctx context.Context, keys []string) ([]statestore.Item, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = m.db.Key(k)
	}
	rows, err := m.db.Query(ctx, `SELECT key, value, xmin::text FROM `+readmodel.Table+`
		WHERE key = ANY($1) AND `+readmodel.Live, full)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	found := make(map[string]statestore.Item, len(keys))
	var it statestore.Item
	_, err = pgx.ForEachRow(rows, []any{&it.Key, &it.Value, &it.ETag}, func() error {
		it.Found = true // pgx scans each row's JSON into a new array
		found[it.Key] = it
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	items := make([]statestore.Item, len(keys))
	for i, k := range keys {
		items[i] = found[full[i]]
		items[i].Key = k
	}
	return items, nil
}
