// Package app is the product service's use cases: the catalog's categories
// (this file). It holds the rules' order (who may, then what is valid, then
// what is stored) and talks to storage through Store.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// Errors the API maps to statuses.
var (
	ErrForbidden        = errors.New("admin role required")
	ErrCategoryNotFound = errors.New("category not found")
	ErrNameTaken        = errors.New("category name taken")
	ErrConflict         = errors.New("concurrent update")
	ErrProductNotFound  = errors.New("product not found")
	ErrCategoryInUse    = errors.New("active products use the category")
	ErrSKUTaken         = errors.New("sku taken")
)

// RoleAdmin is the role that may act on everything (the token's role).
const RoleAdmin = authtoken.RoleAdmin

// Caller is who the gateway verified; anonymous readers have no UserID.
type Caller struct {
	UserID, Role string
}

func (c Caller) requireAdmin() error {
	if c.Role != RoleAdmin {
		return ErrForbidden
	}
	return nil
}

// Store is what the use cases need from storage. Writes fail with
// ErrConflict when they lose a race: the category is no longer at etag, or
// its name is already claimed.
type Store interface {
	Category(ctx context.Context, id string) (c domain.Category, etag string, found bool, err error)
	NameOwner(ctx context.Context, nameKey string) (categoryID string, found bool, err error)
	CreateCategory(ctx context.Context, c domain.Category) error
	// SaveCategory writes c over the version at etag; when c's name key is
	// not previousName's, the name claim moves with it.
	SaveCategory(ctx context.Context, c domain.Category, etag, previousName string) error
	// DeleteUnusedCategory deletes c at etag and frees its name, unless a
	// product that is not deleted is in it (ErrCategoryInUse). A product
	// write in c that races it loses (CategoryUse).
	DeleteUnusedCategory(ctx context.Context, c domain.Category, etag string) error
	Categories(ctx context.Context) ([]domain.Category, error)

	Product(ctx context.Context, id string) (p domain.Product, etag string, found bool, err error)
	ProductIDBySlug(ctx context.Context, slug string) (id string, found bool, err error)
	// CategoryUse reads what writing product productID into category
	// categoryID must write back (found false: no such category).
	CategoryUse(ctx context.Context, categoryID, productID string) (use CategoryUse, found bool, err error)
	// CreateProduct stores a new product and claims its slug, writing use;
	// ErrConflict when the slug is taken or use is stale. e is published
	// if and only if it commits.
	CreateProduct(ctx context.Context, p domain.Product, use CategoryUse, e Event) error
	// SaveProduct writes p over the version at etag, and use unless it is
	// the zero value, claiming the SKUs in claim (ErrConflict if one is
	// taken) and freeing those in release; e is published if and only if
	// it commits.
	SaveProduct(ctx context.Context, p domain.Product, etag string, use CategoryUse, claim, release []string, e Event) error
	SKUOwner(ctx context.Context, sku string) (productID string, found bool, err error)
	// ProductsAfter is up to q.Limit products after q.After in q's order,
	// and the cursor of the last one when more follow.
	ProductsAfter(ctx context.Context, q ProductQuery) ([]domain.Product, *Cursor, error)
	// ProductsPage is page q.Page in q's order, and how many match.
	ProductsPage(ctx context.Context, q ProductQuery) ([]domain.Product, int, error)
	SearchProducts(ctx context.Context, q SearchQuery) ([]domain.Product, int, error)
	// SearchProductsAfter is up to q.Limit matches after q.After, best
	// first, and the cursor of the last one when more follow.
	SearchProductsAfter(ctx context.Context, q SearchQuery) ([]domain.Product, *Cursor, error)
}

// A CategoryUse is a product write's hold on the category it puts the
// product in: read before the write and written with it, so that the write
// and a delete of the category cannot both commit (the loser gets
// ErrConflict, reads again and finds the category gone or the product
// there). The store fills it in; the zero value holds nothing.
type CategoryUse struct{ Key, ETag string }

// maxAttempts bounds how often a write re-reads and re-applies itself after
// losing a race.
const maxAttempts = 8

// Catalog runs the use cases. Reads of one product or category go
// through a cache (cache.go); writes always read the store, so an ETag they
// write over is never a cached one.
type Catalog struct {
	Store Store
	Now   func() time.Time

	products     *cached[domain.Product]
	slugs        *cached[string] // slug → product id
	categories   *cached[domain.Category]
	categoryList *cached[[]domain.Category]
}

// New wires a Catalog.
func New(store Store, cache CacheOptions) *Catalog {
	return &Catalog{Store: store, Now: time.Now,
		products: newCached[domain.Product]("product", cache), slugs: newCached[string]("slug", cache),
		categories: newCached[domain.Category]("category", cache), categoryList: newCached[[]domain.Category]("category-list", cache)}
}

func (a *Catalog) now() time.Time { return a.Now().UTC().Truncate(time.Microsecond) }

// CreateCategory adds a category (admins).
func (a *Catalog) CreateCategory(ctx context.Context, c Caller, f domain.CategoryFields) (domain.Category, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Category{}, err
	}
	if err := f.Check(); err != nil {
		return domain.Category{}, err
	}
	id, err := ids.New()
	if err != nil {
		return domain.Category{}, err
	}
	now := a.now()
	cat := domain.Category{ID: id, CreatedAt: now}
	cat.Apply(f, now)
	err = a.Store.CreateCategory(ctx, cat)
	a.forgetCategory(id)
	if errors.Is(err, ErrConflict) {
		return domain.Category{}, ErrNameTaken // the id is new: only the name can be taken
	}
	return cat, err
}

// Categories lists every category, by name.
func (a *Catalog) Categories(ctx context.Context) ([]domain.Category, error) {
	list, _, err := a.categoryList.get("", func() ([]domain.Category, bool, error) {
		list, err := a.Store.Categories(ctx)
		return list, true, err
	})
	return list, err
}

// Category reads one category. An id the service never makes names none.
func (a *Catalog) Category(ctx context.Context, id string) (domain.Category, error) {
	if !ids.Valid(id) {
		return domain.Category{}, ErrCategoryNotFound
	}
	cat, found, err := a.categories.get(id, func() (domain.Category, bool, error) {
		cat, _, found, err := a.Store.Category(ctx, id)
		return cat, found, err
	})
	if err != nil {
		return domain.Category{}, err
	}
	if !found {
		return domain.Category{}, ErrCategoryNotFound
	}
	return cat, nil
}

// forgetCategory drops what a write to category id may have changed.
func (a *Catalog) forgetCategory(id string) {
	a.categories.forget(id)
	a.categoryList.forget("")
}

// ReplaceCategory sets every field of a category (admins).
func (a *Catalog) ReplaceCategory(ctx context.Context, c Caller, id string, f domain.CategoryFields) (domain.Category, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Category{}, err
	}
	if err := f.Check(); err != nil {
		return domain.Category{}, err
	}
	var saved domain.Category
	err := a.writeCategory(ctx, id, func(cat domain.Category, etag string) error {
		previous := cat.Name
		if domain.NameKey(f.Name) != domain.NameKey(previous) {
			owner, found, err := a.Store.NameOwner(ctx, domain.NameKey(f.Name))
			if err != nil {
				return err
			}
			if found && owner != cat.ID {
				return ErrNameTaken
			}
		}
		cat.Apply(f, a.now())
		saved = cat
		return a.Store.SaveCategory(ctx, cat, etag, previous)
	})
	return saved, err
}

// DeleteCategory removes a category (admins).
func (a *Catalog) DeleteCategory(ctx context.Context, c Caller, id string) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	return a.writeCategory(ctx, id, func(cat domain.Category, etag string) error {
		return a.Store.DeleteUnusedCategory(ctx, cat, etag)
	})
}

// writeCategory runs fn on the current version of category id (onLatest).
func (a *Catalog) writeCategory(ctx context.Context, id string, fn func(cat domain.Category, etag string) error) error {
	if !ids.Valid(id) {
		return ErrCategoryNotFound
	}
	defer a.forgetCategory(id)
	return onLatest(func() (domain.Category, string, bool, error) { return a.Store.Category(ctx, id) }, ErrCategoryNotFound, fn)
}

// onLatest runs fn on the current version that read gives (found false:
// gone); a write that loses a race is read again and retried, at most
// maxAttempts times.
func onLatest[T any](read func() (T, string, bool, error), gone error, fn func(v T, etag string) error) error {
	for range maxAttempts {
		v, etag, found, err := read()
		if err != nil {
			return err
		}
		if !found {
			return gone
		}
		if err := fn(v, etag); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return ErrConflict
}
