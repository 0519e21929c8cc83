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

// SearchQuery is one page of a search.
type SearchQuery struct {
	// TSQuery is the terms as a PostgreSQL tsquery: each a prefix, all
	// required ("head:* & sony:*"). Built from letters and digits only, so
	// no client text is ever tsquery syntax.
	TSQuery  string
	Statuses []domain.Status
	Page     paging.Request
}

// Search is a page of the products shown to c that match every word of
// query (each as a prefix: "head" finds "headphones"), best first.
func (a *Catalog) Search(ctx context.Context, c Caller, query, page, size string) (paging.Page[domain.Product], error) {
	errs := validation.Errors{}
	q := SearchQuery{Page: paging.Parse(page, size, errs), Statuses: []domain.Status{domain.Active, domain.OutOfStock}}
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
		return paging.Page[domain.Product]{}, err
	}
	for i, t := range terms {
		terms[i] = t + ":*"
	}
	q.TSQuery = strings.Join(terms, " & ")
	items, total, err := a.Store.SearchProducts(ctx, q)
	return paging.Of(q.Page, items, total), err
}
