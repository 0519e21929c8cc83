package app

import (
	"context"
	"strings"
	"unicode"

	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// maxSearchTerms bounds a query's work.
const maxSearchTerms = 8

// searchSort is a search cursor's sort: best first (rank, then key).
const searchSort = "rank"

// SearchParams are a search's query parameters as the client sent them.
type SearchParams struct {
	Query         string
	Limit, Cursor string // keyset style
	Page, Size    string // page style
}

// SearchQuery is one page of a search.
type SearchQuery struct {
	// TSQuery is the terms as a PostgreSQL tsquery, all required: whole
	// words but the last, a prefix ("sony & head:*"), as a person types.
	// Broad is every term a prefix ("head:* & sony:*"), asked when TSQuery
	// matches nothing: a word prefix costs the GIN index a scan of every
	// entry it begins and a bitmap of all their rows, a whole word a
	// lookup (the bench's search took 7.2 ms as prefixes, 4.7 ms as a
	// word and a prefix; docs/product.md). Both are built from letters
	// and digits only, so no client text is ever tsquery syntax.
	TSQuery, Broad string
	Statuses       []domain.Status
	// Keyset style: Limit items after After (its Value a rank), else Page.
	Keyset bool
	Limit  int
	After  *Cursor
	Page   paging.Request
}

// Search reads p as reader c may ask it: the products shown to c that
// match every word of the query, best first. The last word is a prefix
// ("sony head" finds "Sony headphones"); should that match nothing, every
// word is ("head sony" finds them too).
func (p SearchParams) Search(c Caller) (SearchQuery, error) {
	query := p.Query
	errs := validation.Errors{}
	q := SearchQuery{Statuses: []domain.Status{domain.Active, domain.OutOfStock}}
	q.Keyset, q.Limit, q.After, q.Page = pageStyle(p.Limit, p.Cursor, p.Page, p.Size, searchSort, errs)
	if c.Role == RoleAdmin {
		q.Statuses = domain.Statuses
	}
	terms := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	switch {
	case len(query) > 200:
		errs.Add("query", "query must be at most 200 characters")
	case len(terms) == 0:
		errs.Add("query", "Query parameter must not be empty")
	case len(terms) > maxSearchTerms:
		terms = terms[:maxSearchTerms]
	}
	if err := errs.Err(); err != nil {
		return SearchQuery{}, err
	}
	q.TSQuery = strings.Join(terms, " & ") + ":*"
	q.Broad = strings.Join(terms, ":* & ") + ":*"
	if q.After != nil && q.After.Broad {
		q.TSQuery = q.Broad // the first page matched nothing as words
	}
	return q, nil
}

// broadened is q matching every word as a prefix, or false if it already
// does.
func (q SearchQuery) broadened() (SearchQuery, bool) {
	if q.TSQuery == q.Broad {
		return q, false
	}
	q.TSQuery = q.Broad
	return q, true
}

// SearchPage is a search in page style.
func (a *Catalog) SearchPage(ctx context.Context, q SearchQuery) (paging.Page[domain.Product], error) {
	items, total, err := a.Store.SearchProducts(ctx, q)
	if broad, ok := q.broadened(); ok && err == nil && total == 0 {
		items, total, err = a.Store.SearchProducts(ctx, broad)
	}
	return paging.Of(q.Page, items, total), err
}

// SearchAfter is a search in keyset style.
func (a *Catalog) SearchAfter(ctx context.Context, q SearchQuery) (ProductSlice, error) {
	items, last, err := a.Store.SearchProductsAfter(ctx, q)
	if broad, ok := q.broadened(); ok && err == nil && q.After == nil && len(items) == 0 {
		q = broad
		items, last, err = a.Store.SearchProductsAfter(ctx, q)
	}
	if err != nil || last == nil {
		return ProductSlice{Items: items}, err
	}
	last.Sort, last.Broad = searchSort, q.TSQuery == q.Broad
	return ProductSlice{Items: items, Next: last.Encode()}, nil
}
