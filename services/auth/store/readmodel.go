package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// ReadModel answers the list queries the key-value state API cannot (a
// user's sessions, all users) with SQL over the rows Dapr writes.
type ReadModel struct{ db *readmodel.DB }

// NewReadModel reads the auth database through db.
func NewReadModel(db *readmodel.DB) *ReadModel { return &ReadModel{db: db} }

// EnsureIndexes adds the indexes the queries use.
func (m *ReadModel) EnsureIndexes(ctx context.Context) error {
	return m.db.EnsureIndexes(ctx,
		`CREATE INDEX IF NOT EXISTS state_user_id ON `+readmodel.Table+` ((value->>'userId'))`,
		`CREATE INDEX IF NOT EXISTS state_key_prefix ON `+readmodel.Table+` (key text_pattern_ops)`)
}

// SessionsOf lists the user's sessions that have not ended or expired,
// newest first.
func (m *ReadModel) SessionsOf(ctx context.Context, userID string) ([]domain.Session, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+readmodel.Table+`
		WHERE value->>'userId' = $1 AND key LIKE `+m.db.KeysOf("session")+` AND `+readmodel.Live+`
		ORDER BY value->>'createdAt' DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions of %s: %w", userID, err)
	}
	// pgx decodes each jsonb value straight into the domain type.
	return pgx.CollectRows(rows, pgx.RowTo[domain.Session])
}

// Revocations lists the revocations still in force (their records
// expire when they are moot), oldest first.
func (m *ReadModel) Revocations(ctx context.Context) ([]authtoken.Revocation, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+readmodel.Table+`
		WHERE key LIKE `+m.db.KeysOf("revocation")+` AND `+readmodel.Live+` ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("revocations in force: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[authtoken.Revocation])
}

// Users lists accounts in creation order (ids are UUIDv7, so key order),
// limit from offset, with the total count.
func (m *ReadModel) Users(ctx context.Context, offset, limit int) ([]domain.User, int, error) {
	users := `FROM ` + readmodel.Table + ` WHERE key LIKE ` + m.db.KeysOf("user") + ` AND ` + readmodel.Live
	var total int
	if err := m.db.QueryRow(ctx, `SELECT count(*) `+users).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := m.db.Query(ctx, `SELECT value `+users+` ORDER BY key LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[domain.User])
	return list, total, err
}
