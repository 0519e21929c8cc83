// Package readmodel answers, with SQL, the list queries Dapr's key-value
// state API cannot (and, for the inventory's ledger, reads by key faster
// than through the sidecar): it reads the JSONB rows the PostgreSQL state
// component writes (state.postgresql v1, HTTP state API) in a service's
// own database. It only reads; every write goes through Dapr.
package readmodel

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Table is the state table every component names (tableName: state).
const Table = "state"

// Live keeps rows whose TTL has not run out (Dapr deletes them lazily).
const Live = `(expiredate IS NULL OR expiredate > now())`

// DB is one service's database.
type DB struct {
	*pgxpool.Pool
	appID string
}

// Open connects to the database of app appID. An empty dsn takes libpq's PG*
// environment variables (the launcher sets PGDATABASE).
func Open(ctx context.Context, dsn, appID string) (*DB, error) {
	if !plainName.MatchString(appID) {
		return nil, fmt.Errorf("read model: app id %q", appID)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return &DB{Pool: pool, appID: appID}, nil
}

var plainName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// KeysOf is a LIKE pattern, as an SQL literal, matching the keys of one
// kind ("profile" matches "user||profile:…"; Dapr prefixes each key with the
// app id). Written into the SQL rather than bound, so that PostgreSQL can
// match it to partial indexes with the same predicate.
func (d *DB) KeysOf(kind string) string {
	return strings.TrimSuffix(d.KeyPrefix(kind), "'") + "%'"
}

// Key is key as stored: Dapr prefixes each key with the app id.
func (d *DB) Key(key string) string { return d.appID + "||" + key }

// KeyPrefix is what every key of one kind starts with, as an SQL literal
// ("'user||profile:'"), to join a record to the one an id in it names.
func (d *DB) KeyPrefix(kind string) string {
	if !plainName.MatchString(kind) {
		panic("readmodel: key kind " + kind) // programming error: kinds are constants
	}
	return "'" + d.Key(kind+":") + "'"
}

// EnsureIndexes runs each CREATE INDEX IF NOT EXISTS (or other idempotent
// DDL: ADD COLUMN IF NOT EXISTS, CREATE STATISTICS IF NOT EXISTS, DROP
// INDEX IF EXISTS) on the table Dapr created. When that made statistics
// the table has never been analyzed for, it analyzes it once, so the
// planner uses them from the first query (not whenever autovacuum comes).
func (d *DB) EnsureIndexes(ctx context.Context, ddl ...string) error {
	for _, stmt := range ddl {
		if _, err := d.Exec(ctx, stmt); err != nil && !createdConcurrently(err) {
			return fmt.Errorf("read model index: %w", err)
		}
	}
	// pg_stats_ext lists only statistics that have been computed (and,
	// unlike pg_statistic_ext_data, is readable without superuser).
	var uncomputed bool
	err := d.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_statistic_ext WHERE stxrelid = '`+Table+`'::regclass) >
		(SELECT count(*) FROM pg_stats_ext WHERE schemaname = current_schema() AND tablename = '`+Table+`')`).Scan(&uncomputed)
	if err != nil {
		return fmt.Errorf("read model statistics: %w", err)
	}
	if uncomputed {
		if _, err := d.Exec(ctx, `ANALYZE `+Table); err != nil {
			return fmt.Errorf("read model statistics: %w", err)
		}
	}
	return nil
}

// createdConcurrently reports the error PostgreSQL gives the loser when two
// replicas create the same index or column at once: it exists either way.
func createdConcurrently(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07" || pgErr.Code == "42701" || pgErr.Code == "42710")
}

// SortableTime is t as fixed-width UTC text (microseconds), so that text
// order is time order: what a document stores beside a time for an SQL
// index to sort by (Go's JSON times drop trailing zeros, and ".5Z" would
// sort after ".51Z").
func SortableTime(t time.Time) string { return t.UTC().Format(SortableLayout) }

// SortableLayout is SortableTime's layout, to parse what it wrote.
const SortableLayout = "2006-01-02T15:04:05.000000Z"

// LikePrefix is a LIKE pattern matching strings that start with prefix, its
// own % _ and \ taken literally.
func LikePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}
