package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// Listing defaults and bounds.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// ProductSorts are the listing's sort orders ("-" for descending).
var ProductSorts = []string{"price", "-price", "name", "-name", "createdAt", "-createdAt"}

// ProductParams are the listing's query parameters as the client sent them.
type ProductParams struct {
	CategoryID, Brand, Status, MinPrice, MaxPrice, Sort string
	Limit, Cursor                                       string // keyset style
	Page, Size                                          string // page style (the original's)
}

// ProductQuery is one page of the listing.
type ProductQuery struct {
	CategoryID, Brand  string
	Statuses           []domain.Status // the statuses shown
	MinPrice, MaxPrice string          // decimal text, "" for none
	SortBy             string          // price, name or createdAt
	Desc               bool
	// Keyset style: Limit items after After (nil: from the start).
	Keyset bool
	Limit  int
	After  *Cursor
	// Page style.
	Page paging.Request
}

// Cursor is where a keyset page ends: the last item's sort value and key.
type Cursor struct {
	Sort  string `json:"s"`
	Value string `json:"v"`
	Key   string `json:"k"`
	// Broad: a search's pages match every word as a prefix (its first
	// page matched nothing as words).
	Broad bool `json:"b,omitempty"`
}

// Encode is c as an opaque token.
func (c Cursor) Encode() string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

var amountPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,15})(\.[0-9]{1,6})?$`)

// Query reads p as reader c may ask it: shoppers never see statuses other
// than ACTIVE and OUT_OF_STOCK, whatever they filter by.
func (p ProductParams) Query(c Caller) (ProductQuery, error) {
	errs := validation.Errors{}
	q := ProductQuery{CategoryID: p.CategoryID, Brand: strings.TrimSpace(p.Brand), MinPrice: p.MinPrice, MaxPrice: p.MaxPrice}
	if q.CategoryID != "" && !ids.Valid(q.CategoryID) {
		errs.Add("categoryId", "categoryId must be a category id")
	}
	errs.OptionalText("brand", q.Brand, 100)
	q.Statuses = []domain.Status{domain.Active, domain.OutOfStock}
	if c.Role == RoleAdmin {
		q.Statuses = domain.Statuses
	}
	if p.Status != "" {
		if !slices.Contains(domain.Statuses, domain.Status(p.Status)) {
			errs.Add("status", "status must be one of ACTIVE, INACTIVE, OUT_OF_STOCK, DISCONTINUED")
		}
		if slices.Contains(q.Statuses, domain.Status(p.Status)) {
			q.Statuses = []domain.Status{domain.Status(p.Status)}
		} else {
			q.Statuses = nil // a status this reader is not shown: nothing
		}
	}
	for field, v := range map[string]string{"minPrice": p.MinPrice, "maxPrice": p.MaxPrice} {
		if v != "" && !amountPattern.MatchString(v) {
			errs.Add(field, field+" must be a non-negative decimal number")
		}
	}
	sort := p.Sort
	if sort == "" {
		sort = "-createdAt"
	}
	if !slices.Contains(ProductSorts, sort) {
		errs.Add("sort", "sort must be one of "+strings.Join(ProductSorts, ", "))
	}
	q.SortBy, q.Desc = strings.TrimPrefix(sort, "-"), strings.HasPrefix(sort, "-")

	q.Keyset, q.Limit, q.After, q.Page = pageStyle(p.Limit, p.Cursor, p.Page, p.Size, sort, errs)
	return q, errs.Err()
}

// pageStyle reads the two pagination styles' parameters: limit and cursor
// (keyset; a cursor must be one that sort gave), or page and size.
func pageStyle(limit, cursor, page, size, sort string, errs validation.Errors) (keyset bool, n int, after *Cursor, pr paging.Request) {
	keyset, paged := limit != "" || cursor != "", page != "" || size != ""
	switch {
	case keyset && paged:
		errs.Add("cursor", "use limit and cursor, or page and size, not both")
	case keyset:
		n = DefaultLimit
		if limit != "" {
			v, err := strconv.Atoi(limit)
			if err != nil || v < 1 || v > MaxLimit {
				errs.Add("limit", "limit must be an integer between 1 and 100")
			}
			n = v
		}
		if cursor != "" {
			cur, ok := decodeCursor(cursor)
			if !ok || cur.Sort != sort {
				errs.Add("cursor", "cursor is not one this listing gave (with this sort)")
			}
			after = &cur
		}
		return true, n, after, pr
	}
	return false, 0, nil, paging.Parse(page, size, errs)
}

func decodeCursor(token string) (Cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) > 1024 {
		return Cursor{}, false
	}
	var c Cursor
	if json.Unmarshal(raw, &c) != nil || c.Key == "" || !validation.Printable(c.Value) || !validation.Printable(c.Key) {
		return Cursor{}, false
	}
	switch c.Sort {
	case "price", "-price":
		if !amountPattern.MatchString(c.Value) {
			return Cursor{}, false
		}
	case searchSort:
		if _, err := strconv.ParseFloat(c.Value, 32); err != nil {
			return Cursor{}, false
		}
	}
	return c, true
}

// ProductSlice is a keyset page: the items, and the cursor of the next
// page ("" at the end).
type ProductSlice struct {
	Items []domain.Product
	Next  string
}

// ListProducts is the listing in keyset style.
func (a *Catalog) ListProducts(ctx context.Context, q ProductQuery) (ProductSlice, error) {
	if len(q.Statuses) == 0 {
		return ProductSlice{Items: []domain.Product{}}, nil
	}
	items, last, err := a.Store.ProductsAfter(ctx, q)
	if err != nil || last == nil {
		return ProductSlice{Items: items}, err
	}
	last.Sort = sortParam(q)
	return ProductSlice{Items: items, Next: last.Encode()}, nil
}

// PageProducts is the listing in page style.
func (a *Catalog) PageProducts(ctx context.Context, q ProductQuery) (paging.Page[domain.Product], error) {
	if len(q.Statuses) == 0 {
		return paging.Of[domain.Product](q.Page, nil, 0), nil
	}
	items, total, err := a.Store.ProductsPage(ctx, q)
	return paging.Of(q.Page, items, total), err
}

func sortParam(q ProductQuery) string {
	if q.Desc {
		return "-" + q.SortBy
	}
	return q.SortBy
}
