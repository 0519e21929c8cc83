package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// maxSlugTries bounds the "-2", "-3"… suffixes tried for a taken slug
// before one ending in the product's id (which cannot be taken).
const maxSlugTries = 5

// CreateProduct adds a product (admins) in an existing category, with a
// unique slug made from its name.
func (a *Catalog) CreateProduct(ctx context.Context, c Caller, f domain.ProductFields) (domain.Product, error) {
	price, err := checkProduct(c, &f)
	if err != nil {
		return domain.Product{}, err
	}
	id, err := ids.New()
	if err != nil {
		return domain.Product{}, err
	}
	now := a.now()
	p := domain.Product{ID: id, CreatedAt: now}
	p.Apply(f, price, now)
	base := domain.Slug(f.Name)
	// A conflict is a taken slug (try the next one) or a stale category
	// hold (read it again); either way the next round re-reads the hold.
	for try, attempt := 1, 0; attempt < maxAttempts; attempt++ {
		switch {
		case try == 1:
			p.Slug = base
		case try <= maxSlugTries:
			p.Slug = fmt.Sprintf("%s-%d", base, try)
		default:
			p.Slug = base + "-" + id
		}
		use, err := a.categoryUse(ctx, p)
		if err != nil {
			return domain.Product{}, err
		}
		e, err := a.event(ProductCreated, p, "")
		if err != nil {
			return domain.Product{}, err
		}
		err = a.Store.CreateProduct(ctx, p, use, e)
		a.slugs.forget(p.Slug)
		if !errors.Is(err, ErrConflict) {
			return p, err
		}
		_, taken, err := a.Store.ProductIDBySlug(ctx, p.Slug)
		if err != nil {
			return domain.Product{}, err
		}
		if taken {
			try++
		}
	}
	return domain.Product{}, ErrConflict
}

// checkProduct is what a product write needs first: an admin, and valid
// fields (their price read).
func checkProduct(c Caller, f *domain.ProductFields) (domain.Money, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Money{}, err
	}
	return f.Check()
}

// categoryUse is the hold on p's category its write needs
// (ErrCategoryNotFound when there is no such category).
func (a *Catalog) categoryUse(ctx context.Context, p domain.Product) (CategoryUse, error) {
	use, found, err := a.Store.CategoryUse(ctx, p.CategoryID, p.ID)
	if err != nil {
		return CategoryUse{}, err
	}
	if !found {
		return CategoryUse{}, ErrCategoryNotFound
	}
	return use, nil
}

// Product reads one product as c may see it: deleted ones are gone, and
// shoppers see only ACTIVE and OUT_OF_STOCK ones.
func (a *Catalog) Product(ctx context.Context, c Caller, id string) (domain.Product, error) {
	if !ids.Valid(id) {
		return domain.Product{}, ErrProductNotFound
	}
	p, found, err := a.products.get(id, func() (domain.Product, bool, error) {
		p, _, found, err := a.Store.Product(ctx, id)
		return p, found, err
	})
	if err != nil {
		return domain.Product{}, err
	}
	if !found || p.Deleted || (c.Role != RoleAdmin && !p.ShownToShoppers()) {
		return domain.Product{}, ErrProductNotFound
	}
	return p, nil
}

// ProductBySlug reads one product by its slug, as Product does.
func (a *Catalog) ProductBySlug(ctx context.Context, c Caller, slug string) (domain.Product, error) {
	if slug == "" || len(slug) > 200 {
		return domain.Product{}, ErrProductNotFound
	}
	id, found, err := a.slugs.get(slug, func() (string, bool, error) { return a.Store.ProductIDBySlug(ctx, slug) })
	if err != nil {
		return domain.Product{}, err
	}
	if !found {
		return domain.Product{}, ErrProductNotFound
	}
	return a.Product(ctx, c, id)
}

// ReplaceProduct sets every field of a product (admins). Its slug stays, so
// links to it keep working.
func (a *Catalog) ReplaceProduct(ctx context.Context, c Caller, id string, f domain.ProductFields) (domain.Product, error) {
	price, err := checkProduct(c, &f)
	if err != nil {
		return domain.Product{}, err
	}
	var saved domain.Product
	err = a.writeProduct(ctx, id, func(p domain.Product, etag string) error {
		p.Apply(f, price, a.now())
		use, err := a.categoryUse(ctx, p)
		if err != nil {
			return err
		}
		saved = p
		return a.save(ctx, p, etag, use, nil, nil, ProductUpdated, "")
	})
	return saved, err
}

// DeleteProduct soft-deletes a product (admins): gone from every read.
func (a *Catalog) DeleteProduct(ctx context.Context, c Caller, id string) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	return a.writeProduct(ctx, id, func(p domain.Product, etag string) error {
		p.Deleted, p.UpdatedAt = true, a.now()
		skus := make([]string, 0, len(p.Variants))
		for _, v := range p.Variants {
			skus = append(skus, v.SKU)
		}
		return a.save(ctx, p, etag, CategoryUse{}, nil, skus, ProductDeleted, "") // its SKUs are free again
	})
}

// save writes p over the version at etag (Store.SaveProduct) with the
// event that tells of it.
func (a *Catalog) save(ctx context.Context, p domain.Product, etag string, use CategoryUse, claim, release []string, t EventType, variantID string) error {
	e, err := a.event(t, p, variantID)
	if err != nil {
		return err
	}
	return a.Store.SaveProduct(ctx, p, etag, use, claim, release, e)
}

// writeProduct runs fn on the current version of a product that is not
// deleted (onLatest).
func (a *Catalog) writeProduct(ctx context.Context, id string, fn func(p domain.Product, etag string) error) error {
	if !ids.Valid(id) {
		return ErrProductNotFound
	}
	defer a.products.forget(id)
	return onLatest(func() (domain.Product, string, bool, error) {
		p, etag, found, err := a.Store.Product(ctx, id)
		return p, etag, found && !p.Deleted, err
	}, ErrProductNotFound, fn)
}
