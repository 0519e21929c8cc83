package app

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// AddVariant adds a variant to a product (admins). Its SKU is claimed in
// the same transaction as the product's new version.
func (a *Catalog) AddVariant(ctx context.Context, c Caller, productID string, f domain.VariantFields) (domain.Variant, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Variant{}, err
	}
	var added domain.Variant
	err := a.writeProduct(ctx, productID, func(p domain.Product, etag string) error {
		price, err := f.Check(p.Price.Currency)
		if err != nil {
			return err
		}
		if err := a.skuFree(ctx, f.SKU); err != nil {
			return err
		}
		id, err := ids.New()
		if err != nil {
			return err
		}
		if added, err = p.AddVariant(id, f, price, a.now()); err != nil {
			return err
		}
		return a.save(ctx, p, etag, CategoryUse{}, []string{f.SKU}, nil, VariantCreated, added.ID)
	})
	return added, err
}

// skuFree is ErrSKUTaken when a variant holds sku. (A race between two
// creates is decided by the claim in the transaction; the loser's retry
// finds it here.)
func (a *Catalog) skuFree(ctx context.Context, sku string) error {
	_, found, err := a.Store.SKUOwner(ctx, sku)
	if err != nil {
		return err
	}
	if found {
		return ErrSKUTaken
	}
	return nil
}

// Variants lists a product's variants, oldest first, to whoever may see
// the product.
func (a *Catalog) Variants(ctx context.Context, c Caller, productID string) ([]domain.Variant, error) {
	p, err := a.Product(ctx, c, productID)
	return p.Variants, err
}

// ReplaceVariant sets every field of a variant (admins); a new SKU is
// claimed and the old one freed with the product's new version.
func (a *Catalog) ReplaceVariant(ctx context.Context, c Caller, productID, variantID string, f domain.VariantFields) (domain.Variant, error) {
	if err := c.requireAdmin(); err != nil {
		return domain.Variant{}, err
	}
	var replaced domain.Variant
	err := a.writeProduct(ctx, productID, func(p domain.Product, etag string) error {
		price, err := f.Check(p.Price.Currency)
		if err != nil {
			return err
		}
		was, is, err := p.ReplaceVariant(variantID, f, price, a.now())
		if err != nil {
			return err
		}
		var claim, release []string
		if domain.SKUKey(was.SKU) != domain.SKUKey(is.SKU) {
			if err := a.skuFree(ctx, is.SKU); err != nil {
				return err
			}
			claim, release = []string{is.SKU}, []string{was.SKU}
		}
		replaced = is
		return a.save(ctx, p, etag, CategoryUse{}, claim, release, VariantUpdated, is.ID)
	})
	return replaced, err
}

// RemoveVariant deletes a variant (admins) and frees its SKU.
func (a *Catalog) RemoveVariant(ctx context.Context, c Caller, productID, variantID string) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	return a.writeProduct(ctx, productID, func(p domain.Product, etag string) error {
		v, err := p.RemoveVariant(variantID, a.now())
		if err != nil {
			return err
		}
		return a.save(ctx, p, etag, CategoryUse{}, nil, []string{v.SKU}, VariantDeleted, v.ID)
	})
}
