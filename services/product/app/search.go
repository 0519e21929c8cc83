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
	// TSQuery is the terms as a PostgreSQL tsquery: each a prefix, all
	// required ("head:* & sony:*"). Built from letters and digits only, so
	// no client text is ever tsquery syntax.
	TSQuery  string
	Statuses []domain.Status
	// Keyset style: Limit items after After (its Value a rank), else Page.
	Keyset bool
	Limit  int
	After  *Cursor
	Page   paging.Request
}

// Search reads p as reader c may ask it: the products shown to c that
// match every word of the query (each as a prefix: "head" finds
// "headphones"), best first.
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
	for i, t := range terms {
		terms[i] = t + ":*"
	}
	q.TSQuery = strings.Join(terms, " & ")
	return q, nil
}

// SearchPage is a search in page style.
func (a *Catalog) SearchPage(ctx context.Context, q SearchQuery) (paging.Page[domain.Product], error) {
	items, total, err := a.Store.SearchProducts(ctx, q)
	return paging.Of(q.Page, items, total), err
}

// SearchAfter is a search in keyset style.
func (a *Catalog) SearchAfter(ctx context.Context, q SearchQuery) (ProductSlice, error) {
	items, last, err := a.Store.SearchProductsAfter(ctx, q)
	if err != nil || last == nil {
		return ProductSlice{Items: items}, err
	}
	last.Sort = searchSort
	return ProductSlice{Items: items, Next: last.Encode()}, nil
}
