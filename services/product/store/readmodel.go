package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// ReadModel answers the catalog's lists with SQL over the rows Dapr writes.
type ReadModel struct{ db *readmodel.DB }

// NewReadModel reads the product database through db.
func NewReadModel(db *readmodel.DB) *ReadModel { return &ReadModel{db: db} }

// EnsureIndexes adds what the lists use: columns PostgreSQL generates from
// each product's JSON, an index per sort order (alone and within a
// category: browsing a category is the catalog's commonest read), and the
// search vector with its GIN index.
//
// Generated columns, not expression indexes, because an expression index
// cannot answer a query alone: PostgreSQL fetches every row to re-check it.
// Counting a category of 20,000 products read 15,000 heap pages (69 ms);
// over the columns it is an index-only scan (about 3 ms), and an offset page
// walks the index to its offset and fetches only its own 20 rows
// (docs/bench/product.md). The search vector is a column for the same
// reason: ranking reads it instead of re-parsing each match's JSON (~13 µs
// a match). Dapr names its columns in every statement, so more do not
// disturb it; adding them rewrites the table once, under a lock, at the
// first start of a version that adds one.
func (m *ReadModel) EnsureIndexes(ctx context.Context) error {
	live := `key LIKE ` + m.db.KeysOf("product") + ` AND NOT (value->>'deleted')::boolean`
	columns := make([]string, 0, len(productColumns)+1)
	for _, c := range productColumns {
		columns = append(columns, `ADD COLUMN IF NOT EXISTS `+c.name+` `+c.typ+` GENERATED ALWAYS AS (CASE WHEN `+live+` THEN `+c.expr+` END) STORED`)
	}
	columns = append(columns, `ADD COLUMN IF NOT EXISTS `+searchColumn+` tsvector GENERATED ALWAYS AS
			(CASE WHEN key LIKE `+m.db.KeysOf("product")+` THEN `+searchVector+` END) STORED`)
	ddl := []string{
		`CREATE INDEX IF NOT EXISTS state_category_by_name ON ` + readmodel.Table +
			` ((lower(value->>'name') COLLATE "C"), key) WHERE key LIKE ` + m.db.KeysOf("category"),
		`ALTER TABLE ` + readmodel.Table + ` ` + strings.Join(columns, ", "),
		`CREATE INDEX IF NOT EXISTS state_live_product_search ON ` + readmodel.Table + ` USING gin (` + searchColumn + `) WITH (fastupdate = off) WHERE ` + liveProducts,
		// GIN's fast update queues new entries in a pending list that every
		// search scans until a vacuum merges it: after seeding 100,000
		// products that took the index lookup from 2.7 to 6-10 ms. A
		// catalog is read far more than written, so entries go straight in.
		// (Also for an index an earlier version created with it on.)
		`ALTER INDEX state_live_product_search SET (fastupdate = off)`,
		`SELECT gin_clean_pending_list('state_live_product_search'::regclass)`,
		// The relay's query, every pass: only the few pending events.
		`CREATE INDEX IF NOT EXISTS state_pending_events ON ` + readmodel.Table + ` (key) WHERE key LIKE ` + m.db.KeysOf("event"),
	}
	for _, sort := range slices.Sorted(maps.Keys(productSorts)) {
		ddl = append(ddl, sortIndex(sort, false), sortIndex(sort, true))
	}
	// Superseded (earlier versions created them over the JSON).
	for _, old := range []string{"search", "search_vector", "by_category", "by_price", "by_name", "by_createdat",
		"in_category_by_price", "in_category_by_name", "in_category_by_createdat"} {
		ddl = append(ddl, `DROP INDEX IF EXISTS state_product_`+old)
	}
	// Statistics on what the lists filter by. Without them PostgreSQL
	// guesses that a category holds 0.5 % of the products (it held 20 %)
	// and plans a bitmap scan of the whole category and a sort (95 ms at
	// 100,000 products) instead of walking the category's sort index to the
	// 20th match (1 ms). New ones count from the next ANALYZE, which
	// EnsureIndexes runs only then.
	ddl = append(ddl,
		`CREATE STATISTICS IF NOT EXISTS state_product_category_status ON product_category, product_status FROM `+readmodel.Table,
		`CREATE STATISTICS IF NOT EXISTS state_product_brand ON (lower(value->>'brand')) FROM `+readmodel.Table)
	for _, old := range []string{"category", "status", "deleted"} {
		ddl = append(ddl, `DROP STATISTICS IF EXISTS state_product_`+old)
	}
	return m.db.EnsureIndexes(ctx, ddl...)
}

// productColumns are what the lists filter and sort by, generated from
// each live product row (NULL on deleted products and every other row).
var productColumns = []struct{ name, typ, expr string }{
	{"product_status", "text", `value->>'status'`},
	{"product_category", "text", `value->>'categoryId'`},
	{"product_price", "numeric", `(value->>'priceAmount')::numeric`},
	{"product_name", `text COLLATE "C"`, `lower(value->>'name')`},
	{"product_created", `text COLLATE "C"`, `value->>'created'`},
}

// liveProducts is the predicate of every product index and query: product
// rows that are not deleted (written alike, so PostgreSQL matches them to
// the partial indexes).
const liveProducts = `product_status IS NOT NULL`

// searchColumn holds searchVector of each product row (NULL for others).
const searchColumn = "product_search"

// searchVector is what search matches and ranks: the name weighs most, then
// brand and SKUs, then the description. 'simple': no language's stemming
// (names and SKUs are not English); prefix queries do the rest.
const searchVector = `setweight(to_tsvector('simple', coalesce(value->>'name', '')), 'A') || ` +
	`setweight(to_tsvector('simple', coalesce(value->>'brand', '') || ' ' || coalesce(value->>'skus', '')), 'B') || ` +
	`setweight(to_tsvector('simple', coalesce(value->>'description', '')), 'C')`

// SearchProducts is page q of the products shown to q's reader that match
// every term (each as a prefix), best first, and how many match.
//
// Ranking must visit every match anyway, so the page counts them as it
// goes (a window count) rather than in a second scan of the same rows
// (which took 40 % of the time); only a page past the last match, which
// has no row to carry the count, counts apart.
func (m *ReadModel) SearchProducts(ctx context.Context, q app.SearchQuery) ([]domain.Product, int, error) {
	count, page := m.searchPage(q)
	rows, err := m.db.Query(ctx, page.sql, page.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("search products: %w", err)
	}
	var total int
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Product, error) {
		var p domain.Product
		err := row.Scan(&p, &total)
		return p, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("search products: %w", err)
	}
	if len(items) == 0 && q.Page.Offset() > 0 {
		if err := m.db.QueryRow(ctx, count.sql, count.args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count matches: %w", err)
		}
	}
	return items, total, nil
}

// searchPage is how many match q, and q's page with the same count. The
// matches are ranked and counted as narrow (key, rank) rows; only the page's
// own rows are then read whole (carrying every match's JSON through the
// count spilled it to disk: 2,145 matches wrote 3 MB of temporary files).
func (m *ReadModel) searchPage(q app.SearchQuery) (count, page statement) {
	where, args := m.searchWhere(q)
	return statement{`SELECT count(*) FROM ` + readmodel.Table + ` WHERE ` + where, args},
		statement{`WITH matches AS (SELECT key, ` + searchRank + ` AS rank FROM ` + readmodel.Table + ` WHERE ` + where + `)
		SELECT s.value, (SELECT count(*) FROM matches) FROM (SELECT key, rank FROM matches ORDER BY rank DESC, key LIMIT $3 OFFSET $4) page
		JOIN ` + readmodel.Table + ` s USING (key) ORDER BY page.rank DESC, page.key`,
			append(slices.Clip(args), q.Page.Size, q.Page.Offset())}
}

// SearchProductsAfter is up to q.Limit matches after q.After, best first:
// a keyset page over (rank, key). Every match is ranked either way (a rank
// belongs to the query, so no index orders by it), but no offset is walked
// and a page stays put while products are added.
func (m *ReadModel) SearchProductsAfter(ctx context.Context, q app.SearchQuery) ([]domain.Product, *app.Cursor, error) {
	st := m.searchAfter(q)
	rows, err := m.db.Query(ctx, st.sql, st.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("search products: %w", err)
	}
	return keysetPage(rows, q.Limit)
}

func (m *ReadModel) searchAfter(q app.SearchQuery) statement {
	where, args := m.searchWhere(q)
	after := ""
	if q.After != nil {
		args = append(args, q.After.Value, q.After.Key)
		after = ` WHERE rank < $3::real OR (rank = $3::real AND key > $4)`
	}
	args = append(args, q.Limit+1)
	return statement{fmt.Sprintf(`SELECT s.value, page.rank::text AS cursor_value, page.key FROM
		(SELECT key, rank FROM (SELECT key, %s AS rank FROM %s WHERE %s) matches%s ORDER BY rank DESC, key LIMIT $%d) page
		JOIN %s s USING (key) ORDER BY page.rank DESC, page.key`, searchRank, readmodel.Table, where, after, len(args), readmodel.Table), args}
}

// ListingPlans and SearchPlans are PostgreSQL's plans (EXPLAIN ANALYZE,
// BUFFERS) of the queries a listing or a search runs, by what each does:
// for benchmarks, and for an operator asking why a page is slow.
func (m *ReadModel) ListingPlans(ctx context.Context, q app.ProductQuery) (map[string]string, error) {
	if q.Keyset {
		return m.explain(ctx, map[string]statement{"page": m.productsAfter(q)})
	}
	count, page := m.productsPage(q)
	return m.explain(ctx, map[string]statement{"count": count, "page": page})
}

// SearchPlans: see ListingPlans.
func (m *ReadModel) SearchPlans(ctx context.Context, q app.SearchQuery) (map[string]string, error) {
	if q.Keyset {
		return m.explain(ctx, map[string]statement{"page": m.searchAfter(q)})
	}
	_, page := m.searchPage(q)
	return m.explain(ctx, map[string]statement{"page": page})
}

func (m *ReadModel) explain(ctx context.Context, statements map[string]statement) (map[string]string, error) {
	plans := map[string]string{}
	for name, st := range statements {
		rows, err := m.db.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+st.sql, st.args...)
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", name, err)
		}
		plans[name] = strings.Join(lines, "\n")
	}
	return plans, nil
}

// searchRank is a match's rank for query $2.
const searchRank = `ts_rank(` + searchColumn + `, to_tsquery('simple', $2))`

// searchWhere is what a search matches: $1 the statuses shown, $2 the
// tsquery.
func (m *ReadModel) searchWhere(q app.SearchQuery) (string, []any) {
	statuses := make([]string, 0, len(q.Statuses))
	for _, st := range q.Statuses {
		statuses = append(statuses, string(st))
	}
	return liveProducts + ` AND product_status = ANY($1) AND ` + searchColumn + ` @@ to_tsquery('simple', $2)`,
		[]any{statuses, q.TSQuery}
}

// productSorts are the indexed sort expressions, and the type a cursor's
// value is compared as.
var productSorts = map[string]struct{ expr, cast string }{
	"price":     {`product_price`, `::numeric`},
	"name":      {`product_name`, `::text COLLATE "C"`},
	"createdAt": {`product_created`, `::text COLLATE "C"`},
}

// sortIndex is the index of one sort order, within a category or not. It
// includes what the lists filter by besides (status always, price often),
// so that a count or the keys of an offset page come from the index alone.
func sortIndex(sort string, inCategory bool) string {
	name, columns, include := "state_live_products_by_"+strings.ToLower(sort), productSorts[sort].expr+", key", "product_status"
	if inCategory {
		name, columns = "state_category_products_by_"+strings.ToLower(sort), "product_category, "+columns
	}
	if sort != "price" {
		include += ", product_price"
	}
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s) INCLUDE (%s) WHERE %s`, name, readmodel.Table, columns, include, liveProducts)
}

// filters is the WHERE clause of q and its arguments.
func (m *ReadModel) filters(q app.ProductQuery) (string, []any) {
	where := []string{liveProducts}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.CategoryID != "" {
		where = append(where, `product_category = `+arg(q.CategoryID))
	}
	if q.Brand != "" {
		where = append(where, `lower(value->>'brand') = lower(`+arg(q.Brand)+`)`)
	}
	statuses := make([]string, 0, len(q.Statuses))
	for _, st := range q.Statuses {
		statuses = append(statuses, string(st))
	}
	where = append(where, `product_status = ANY(`+arg(statuses)+`)`)
	if q.MinPrice != "" {
		where = append(where, productSorts["price"].expr+` >= `+arg(q.MinPrice)+`::numeric`)
	}
	if q.MaxPrice != "" {
		where = append(where, productSorts["price"].expr+` <= `+arg(q.MaxPrice)+`::numeric`)
	}
	return strings.Join(where, " AND "), args
}

func direction(q app.ProductQuery) (dir, after string) {
	if q.Desc {
		return "DESC", "<"
	}
	return "ASC", ">"
}

// ProductsAfter is up to q.Limit products after q.After in q's order: a
// keyset page (the index is entered at the cursor; no offset is walked).
func (m *ReadModel) ProductsAfter(ctx context.Context, q app.ProductQuery) ([]domain.Product, *app.Cursor, error) {
	st := m.productsAfter(q)
	rows, err := m.db.Query(ctx, st.sql, st.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list products: %w", err)
	}
	return keysetPage(rows, q.Limit)
}

// statement is one SQL query and its arguments.
type statement struct {
	sql  string
	args []any
}

func (m *ReadModel) productsAfter(q app.ProductQuery) statement {
	sort := productSorts[q.SortBy]
	where, args := m.filters(q)
	dir, after := direction(q)
	if q.After != nil {
		args = append(args, q.After.Value, q.After.Key)
		where += fmt.Sprintf(` AND (%s, key) %s ($%d%s, $%d)`, sort.expr, after, len(args)-1, sort.cast, len(args))
	}
	args = append(args, q.Limit+1)
	// The text of the sort value is named apart: ORDER BY takes an output
	// column's name before a table's, and would sort that text (10 < 9.99).
	return statement{fmt.Sprintf(`SELECT value, %s::text AS cursor_value, key FROM %s WHERE %s ORDER BY %s %s, key %s LIMIT $%d`,
		sort.expr, readmodel.Table, where, sort.expr, dir, dir, len(args)), args}
}

// keysetPage reads up to limit rows of (product, sort value, key), asked
// for with LIMIT limit+1: the cursor of the last one when one more exists.
func keysetPage(rows pgx.Rows, limit int) ([]domain.Product, *app.Cursor, error) {
	defer rows.Close()
	items := []domain.Product{}
	var last *app.Cursor
	for rows.Next() {
		var p domain.Product
		var value, key string
		if err := rows.Scan(&p, &value, &key); err != nil {
			return nil, nil, fmt.Errorf("keyset page: %w", err)
		}
		if len(items) == limit {
			return items, last, nil // one more exists: the page ends at last
		}
		items = append(items, p)
		last = &app.Cursor{Value: value, Key: key}
	}
	return items, nil, rows.Err()
}

// ProductsPage is page q.Page in q's order, and how many match.
func (m *ReadModel) ProductsPage(ctx context.Context, q app.ProductQuery) ([]domain.Product, int, error) {
	count, page := m.productsPage(q)
	items, total, err := m.countedPage(ctx, count, page)
	if err != nil {
		return nil, 0, fmt.Errorf("page products: %w", err)
	}
	return items, total, nil
}

// countedPage runs a page and the count of what it pages through in one
// round trip.
func (m *ReadModel) countedPage(ctx context.Context, count, page statement) ([]domain.Product, int, error) {
	batch := &pgx.Batch{}
	var total int
	batch.Queue(count.sql, count.args...).QueryRow(func(row pgx.Row) error { return row.Scan(&total) })
	var items []domain.Product
	batch.Queue(page.sql, page.args...).Query(func(rows pgx.Rows) (err error) {
		items, err = pgx.CollectRows(rows, pgx.RowTo[domain.Product])
		return err
	})
	if err := m.db.SendBatch(ctx, batch).Close(); err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// productsPage is how many match q, and q's page. The page is a deferred
// join: the keys are found in the sort index, past the offset, from the
// index alone, and only the page's own rows are fetched (fetching every
// row up to the offset took 116 ms at page 500).
func (m *ReadModel) productsPage(q app.ProductQuery) (count, page statement) {
	sort := productSorts[q.SortBy]
	where, args := m.filters(q)
	dir, _ := direction(q)
	n := len(args)
	return statement{`SELECT count(*) FROM ` + readmodel.Table + ` WHERE ` + where, args},
		statement{fmt.Sprintf(`SELECT s.value FROM %[1]s s JOIN (SELECT key, %[2]s AS sorted FROM %[1]s WHERE %[3]s
			ORDER BY %[2]s %[4]s, key %[4]s LIMIT $%[5]d OFFSET $%[6]d) page USING (key) ORDER BY page.sorted %[4]s, key %[4]s`,
			readmodel.Table, sort.expr, where, dir, n+1, n+2),
			append(slices.Clip(args), q.Page.Size, q.Page.Offset())}
}

// CategoryInUse reports whether a product that is not deleted is in the
// category (DeleteUnusedCategory makes the answer hold until it commits).
func (m *ReadModel) CategoryInUse(ctx context.Context, categoryID string) (bool, error) {
	var inUse bool
	err := m.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+readmodel.Table+` WHERE `+liveProducts+
		` AND product_category = $1)`, categoryID).Scan(&inUse)
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
