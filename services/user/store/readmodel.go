package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/services/user/app"
	"github.com/qeetmart/qeetmart/services/user/domain"
)

// ReadModel lists profiles for admins with SQL over the rows Dapr writes,
// on indexes: one per sort order, each with the key as tie-break so pages
// are stable, and each partial to profile rows (email claims share the
// table). Sorting and prefix search use the C collation: byte order, which
// an index can serve for both ORDER BY and LIKE 'prefix%'.
type ReadModel struct{ db *readmodel.DB }

// NewReadModel reads the user database through db.
func NewReadModel(db *readmodel.DB) *ReadModel { return &ReadModel{db: db} }

// sortColumns are the indexed expressions of app.SortFields. Emails are
// stored lower case already; names are compared without case.
var sortColumns = map[string]string{
	"createdAt": `(value->>'created') COLLATE "C"`,
	"name":      `lower(value->>'name') COLLATE "C"`,
	"email":     `(value->>'email') COLLATE "C"`,
}

// EnsureIndexes adds the listing's indexes.
func (m *ReadModel) EnsureIndexes(ctx context.Context) error {
	profiles := m.db.KeysOf("profile")
	ddl := []string{}
	for _, field := range app.SortFields {
		ddl = append(ddl, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS state_profile_by_%s ON %s ((%s), key) WHERE key LIKE %s`,
			field, readmodel.Table, sortColumns[field], profiles))
	}
	return m.db.EnsureIndexes(ctx, ddl...)
}

// Profiles is one page of profiles in q's order, without their addresses,
// and how many match in all.
func (m *ReadModel) Profiles(ctx context.Context, q app.ListQuery) ([]domain.Profile, int, error) {
	column, ok := sortColumns[q.SortBy]
	if !ok {
		return nil, 0, fmt.Errorf("sort by %q", q.SortBy)
	}
	where := `FROM ` + readmodel.Table + ` WHERE key LIKE ` + m.db.KeysOf("profile")
	rows := where // what the page is sorted from
	args := []any{}
	if q.Prefix != "" {
		where += ` AND (` + sortColumns["name"] + ` LIKE $1 OR ` + sortColumns["email"] + ` LIKE $1)`
		args = append(args, readmodel.LikePrefix(q.Prefix))
		// The matches first (both indexes, one bitmap), then the sort: left
		// to itself, the planner may walk a sort index hoping to meet 20
		// matches soon, and cross all 100,000 rows when they sort last.
		rows = `FROM (SELECT key, value ` + where + ` OFFSET 0) matches`
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	// Both queries in one round trip.
	batch := &pgx.Batch{}
	var total int
	batch.Queue(`SELECT count(*) `+where, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&total) })
	var list []domain.Profile
	n := len(args)
	// The page's keys first, from the sort index alone (an index-only scan
	// however deep the offset), then their rows: a deep page no longer
	// reads every row it skips.
	batch.Queue(fmt.Sprintf(`SELECT s.value - 'addresses' FROM (SELECT key, %[2]s AS sort %[1]s ORDER BY %[2]s %[3]s, key %[3]s LIMIT $%[4]d OFFSET $%[5]d) page
		JOIN %[6]s s USING (key) ORDER BY page.sort %[3]s, page.key %[3]s`, rows, column, dir, n+1, n+2, readmodel.Table),
		append(args, q.Page.Size, q.Page.Offset())...).Query(func(rows pgx.Rows) (err error) {
		list, err = pgx.CollectRows(rows, pgx.RowTo[domain.Profile])
		return err
	})
	if err := m.db.SendBatch(ctx, batch).Close(); err != nil {
		return nil, 0, fmt.Errorf("list profiles: %w", err)
	}
	return list, total, nil
}
