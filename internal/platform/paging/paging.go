// Package paging is the platform's page-number pagination: the request
// (page, size) with its bounds, and the paged answer the original QeetMart
// used, {"content","page","size","totalElements","totalPages","last"}.
package paging

import (
	"strconv"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// Bounds of a page request: size, and page number (so that page×size cannot
// overflow into a nonsense offset).
const (
	MaxSize     = 100
	MaxPage     = 1_000_000
	DefaultSize = 10
)

// Request is one page of a list: Page is 0-based.
type Request struct {
	Page, Size int
}

// Offset is how many items come before the page.
func (r Request) Offset() int { return r.Page * r.Size }

// Parse reads the page and size query values ("" takes page 0 and
// DefaultSize) into errs-checked bounds.
func Parse(page, size string, errs validation.Errors) Request {
	r := Request{Page: 0, Size: DefaultSize}
	if page != "" {
		n, err := strconv.Atoi(page)
		if err != nil || n < 0 || n > MaxPage {
			errs.Add("page", "page must be an integer between 0 and 1000000")
		}
		r.Page = n
	}
	if size != "" {
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 || n > MaxSize {
			errs.Add("size", "size must be an integer between 1 and 100")
		}
		r.Size = n
	}
	return r
}

// Page is one page of a list, in the platform's paged shape.
type Page[T any] struct {
	Content       []T  `json:"content"`
	Page          int  `json:"page"` // 0-based
	Size          int  `json:"size"`
	TotalElements int  `json:"totalElements"`
	TotalPages    int  `json:"totalPages"`
	Last          bool `json:"last"`
}

// Of is the page r of a list of total items, holding content.
func Of[T any](r Request, content []T, total int) Page[T] {
	if content == nil {
		content = []T{}
	}
	pages := (total + r.Size - 1) / r.Size
	return Page[T]{Content: content, Page: r.Page, Size: r.Size, TotalElements: total, TotalPages: pages, Last: r.Page >= pages-1}
}

// Map is p with each item turned into its view.
func Map[T, U any](p Page[T], view func(T) U) Page[U] {
	out := make([]U, 0, len(p.Content))
	for _, v := range p.Content {
		out = append(out, view(v))
	}
	return Page[U]{Content: out, Page: p.Page, Size: p.Size, TotalElements: p.TotalElements, TotalPages: p.TotalPages, Last: p.Last}
}
