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
	price, err := a.checkProduct(ctx, c, &f)
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
	for try := 1; ; try++ {
		switch {
		case try == 1:
			p.Slug = base
		case try <= maxSlugTries:
			p.Slug = fmt.Sprintf("%s-%d", base, try)
		default:
			p.Slug = base + "-" + id
		}
		e, err := a.event(ProductCreated, p, "")
		if err != nil {
			return domain.Product{}, err
		}
		err = a.Store.CreateProduct(ctx, p, e)
		a.slugs.forget(p.Slug)
		if !errors.Is(err, ErrConflict) || try > maxSlugTries {
			return p, err
		}
	}
}

// checkProduct is what a product write needs first: an admin, valid fields
// (their price read), and the category they name.
func (a *Catalog) checkProduct(ctx context.Context, c Caller, f *domain.ProductFields) (domain.Money, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Money{}, err
	}
	price, err := f.Check()
	if err != nil {
		return domain.Money{}, err
	}
	_, _, found, err := a.Store.Category(ctx, f.CategoryID)
	if err != nil {
		return domain.Money{}, err
	}
	if !found {
		return domain.Money{}, ErrCategoryNotFound
	}
	return price, nil
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
	price, err := a.checkProduct(ctx, c, &f)
	if err != nil {
		return domain.Product{}, err
	}
	var saved domain.Product
	err = a.writeProduct(ctx, id, func(p domain.Product, etag string) error {
		p.Apply(f, price, a.now())
		saved = p
		return a.save(ctx, p, etag, nil, nil, ProductUpdated, "")
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
		return a.save(ctx, p, etag, nil, skus, ProductDeleted, "") // its SKUs are free again
	})
}

// save writes p over the version at etag (Store.SaveProduct) with the
// event that tells of it.
func (a *Catalog) save(ctx context.Context, p domain.Product, etag string, claim, release []string, t EventType, variantID string) error {
	e, err := a.event(t, p, variantID)
	if err != nil {
		return err
	}
	return a.Store.SaveProduct(ctx, p, etag, claim, release, e)
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
