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
			` ((lower(value->>'name') COLLATE "C"), key) WHERE key LIKE `+m.db.KeysOf("category"),
		`CREATE INDEX IF NOT EXISTS state_product_by_category ON `+readmodel.Table+
			` ((value->>'categoryId')) WHERE key LIKE `+m.db.KeysOf("product")+` AND NOT (value->>'deleted')::boolean`)
}

// CategoryInUse reports whether a product that is not deleted is in the
// category. (A product created in the same instant as its category is
// deleted can slip past; see docs/product.md.)
func (m *ReadModel) CategoryInUse(ctx context.Context, categoryID string) (bool, error) {
	var inUse bool
	err := m.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+readmodel.Table+` WHERE key LIKE `+m.db.KeysOf("product")+
		` AND NOT (value->>'deleted')::boolean AND value->>'categoryId' = $1)`, categoryID).Scan(&inUse)
	if err != nil {
		return false, fmt.Errorf("category %s in use: %w", categoryID, err)
	}
	return inUse, nil
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
