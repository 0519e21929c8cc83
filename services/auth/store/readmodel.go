package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// table is the state table of components/statestore-auth.yaml (tableName).
const table = "state"

// ReadModel answers the list queries the key-value state API cannot, with
// SQL over the JSONB rows Dapr writes. It only reads: every write goes
// through Dapr. Dapr prefixes each key with the app id ("auth||user:...").
type ReadModel struct {
	db     *pgxpool.Pool
	prefix string
}

// OpenReadModel connects to the auth database. An empty dsn takes libpq's
// PG* environment variables.
func OpenReadModel(ctx context.Context, dsn, appID string) (*ReadModel, error) {
	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return &ReadModel{db: db, prefix: appID + "||"}, nil
}

// Close releases the connections.
func (m *ReadModel) Close() { m.db.Close() }

// EnsureIndexes adds the indexes the queries use to the table Dapr created.
func (m *ReadModel) EnsureIndexes(ctx context.Context) error {
	for _, ddl := range []string{
		`CREATE INDEX IF NOT EXISTS state_user_id ON ` + table + ` ((value->>'userId'))`,
		`CREATE INDEX IF NOT EXISTS state_key_prefix ON ` + table + ` (key text_pattern_ops)`,
	} {
		if _, err := m.db.Exec(ctx, ddl); err != nil && !createdConcurrently(err) {
			return fmt.Errorf("read model index: %w", err)
		}
	}
	return nil
}

// createdConcurrently reports the error PostgreSQL gives the loser when two
// replicas create the same index at once: the index exists either way.
func createdConcurrently(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07")
}

const live = `(expiredate IS NULL OR expiredate > now())`

// SessionsOf lists the user's sessions that have not ended or expired,
// newest first.
func (m *ReadModel) SessionsOf(ctx context.Context, userID string) ([]domain.Session, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+table+`
		WHERE value->>'userId' = $1 AND key LIKE $2 AND `+live+`
		ORDER BY value->>'createdAt' DESC`, userID, m.prefix+"session:%")
	if err != nil {
		return nil, fmt.Errorf("sessions of %s: %w", userID, err)
	}
	// pgx decodes each jsonb value straight into the domain type.
	return pgx.CollectRows(rows, pgx.RowTo[domain.Session])
}

// Users lists accounts in creation order (ids are UUIDv7, so key order),
// limit from offset, with the total count.
func (m *ReadModel) Users(ctx context.Context, offset, limit int) ([]domain.User, int, error) {
	pattern := m.prefix + "user:%"
	var total int
	err := m.db.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE key LIKE $1 AND `+live, pattern).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := m.db.Query(ctx, `SELECT value FROM `+table+` WHERE key LIKE $1 AND `+live+`
		ORDER BY key LIMIT $2 OFFSET $3`, pattern, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[domain.User])
	return users, total, err
}
