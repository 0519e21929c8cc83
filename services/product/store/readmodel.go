package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// ReadModel answers the catalog's lists with SQL over the rows Dapr writes.
type ReadModel struct{ db *readmodel.DB }

// NewReadModel reads the product database through db.
func NewReadModel(db *readmodel.DB) *ReadModel { return &ReadModel{db: db} }

// EnsureIndexes adds the indexes the lists use.
func (m *ReadModel) EnsureIndexes(ctx context.Context) error {
	return m.db.EnsureIndexes(ctx,
		`CREATE INDEX IF NOT EXISTS state_category_by_name ON `+readmodel.Table+
			` ((lower(value->>'name') COLLATE "C"), key) WHERE key LIKE `+m.db.KeysOf("category"))
}

// Categories lists every category by name (case ignored).
func (m *ReadModel) Categories(ctx context.Context) ([]domain.Category, error) {
	rows, err := m.db.Query(ctx, `SELECT value FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("category")+
		` ORDER BY lower(value->>'name') COLLATE "C", key`)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[domain.Category])
}
