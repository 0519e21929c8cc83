// Package store keeps the product service's catalog in its Dapr state
// store (PostgreSQL database "product"). Keys:
//
//	category:<id>           a Category
//	category-name:<name>    {"categoryId"}: created only if absent, so a
//	                        name (case ignored) belongs to one category
//	product:<id>            a Product (deleted ones stay, marked)
//	product-slug:<slug>     {"productId"}: created only if absent, so a
//	                        slug names one product, for good
//	sku:<sku>               {"productId"}: created only if absent, so a
//	                        SKU (case ignored) belongs to one variant; freed
//	                        when the variant or its product is deleted
//	category-use:<id>:<n>   {"categoryId"}: one of a category's holds
//	                        (CategoryUse), rewritten by every product write
//	                        that puts a product in it
//	event:<id>              an Event not yet published: written by the
//	                        product write it tells of, deleted once the
//	                        relay has published it (events.go)
//
// Every write is one Dapr transaction, so a category and its name claim
// change together, and a product write and its event exist together.
// Lists are SQL over the same rows (readmodel.go).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// Store implements app.Store on a Dapr state store.
type Store struct {
	state *statestore.Store
	*ReadModel
}

// New wraps a Dapr state store and its read model.
func New(state *statestore.Store, rm *ReadModel) *Store {
	return &Store{state: state, ReadModel: rm}
}

var _ app.Store = (*Store)(nil)

type nameClaim struct {
	CategoryID string `json:"categoryId"`
}

func categoryKey(id string) string { return "category:" + id }
func nameKey(name string) string   { return "category-name:" + domain.NameKey(name) }

// Category reads category id and its ETag.
func (s *Store) Category(ctx context.Context, id string) (domain.Category, string, bool, error) {
	var c domain.Category
	etag, found, err := s.state.Get(ctx, categoryKey(id), &c)
	return c, etag, found, err
}

// NameOwner is the id of the category holding a name key.
func (s *Store) NameOwner(ctx context.Context, key string) (string, bool, error) {
	var c nameClaim
	_, found, err := s.state.Get(ctx, nameKey(key), &c)
	return c.CategoryID, found, err
}

// CreateCategory stores a new category and claims its name.
func (s *Store) CreateCategory(ctx context.Context, c domain.Category) error {
	return conflict(s.state.Transact(ctx,
		statestore.Op{Key: nameKey(c.Name), Value: nameClaim{CategoryID: c.ID}, Create: true},
		statestore.Op{Key: categoryKey(c.ID), Value: c, Create: true},
	))
}

// SaveCategory writes c over the version at etag, moving its name claim
// when the name changed (more than in case).
func (s *Store) SaveCategory(ctx context.Context, c domain.Category, etag, previousName string) error {
	ops := []statestore.Op{{Key: categoryKey(c.ID), Value: c, ETag: etag}}
	if nameKey(c.Name) != nameKey(previousName) {
		ops = append(ops,
			statestore.Op{Key: nameKey(c.Name), Value: nameClaim{CategoryID: c.ID}, Create: true},
			statestore.Op{Key: nameKey(previousName)})
	}
	return conflict(s.state.Transact(ctx, ops...))
}

// A category has categoryUseStripes holds. A product write in the category
// rewrites the one its product id picks, at the ETag read before the
// category was found (CategoryUse); a delete rewrites all of them, at the
// ETags read before it found no product in the category. Whichever commits
// second fails, so a product never lands in a deleted category. Spreading
// the holds keeps concurrent product writes in one category from
// conflicting with each other, 15 times in 16.
const categoryUseStripes = 16

type categoryHold struct {
	CategoryID string `json:"categoryId"`
}

func categoryUseKey(categoryID string, stripe uint32) string {
	return fmt.Sprintf("category-use:%s:%d", categoryID, stripe)
}

// CategoryUse reads the hold productID's write in categoryID needs, and
// then whether the category exists: in that order, so a delete that
// commits in between has changed the hold.
func (s *Store) CategoryUse(ctx context.Context, categoryID, productID string) (app.CategoryUse, bool, error) {
	h := fnv.New32a()
	h.Write([]byte(productID))
	key := categoryUseKey(categoryID, h.Sum32()%categoryUseStripes)
	etag, _, err := s.state.Get(ctx, key, &categoryHold{})
	if err != nil {
		return app.CategoryUse{}, false, err
	}
	_, _, found, err := s.Category(ctx, categoryID)
	return app.CategoryUse{Key: key, ETag: etag}, found, err
}

// holdOp writes a category hold at the ETag it was read at ("" when it did
// not exist). ttl, when set, lets the holds of a deleted category expire.
func holdOp(categoryID, key, etag string, ttl int) statestore.Op {
	return statestore.Op{Key: key, Value: categoryHold{CategoryID: categoryID}, ETag: etag, Create: etag == "", TTL: ttl}
}

// deletedHoldTTL is how long a deleted category's holds outlive it: longer
// than any product write that read one before the delete takes.
const deletedHoldTTL = 3600

// DeleteUnusedCategory deletes the category at etag and frees its name,
// unless a product that is not deleted is in it.
func (s *Store) DeleteUnusedCategory(ctx context.Context, c domain.Category, etag string) error {
	keys := make([]string, categoryUseStripes)
	for i := range keys {
		keys[i] = categoryUseKey(c.ID, uint32(i))
	}
	holds, err := s.state.GetMany(ctx, keys)
	if err != nil {
		return err
	}
	inUse, err := s.CategoryInUse(ctx, c.ID)
	if err != nil {
		return err
	}
	if inUse {
		return app.ErrCategoryInUse
	}
	ops := []statestore.Op{{Key: categoryKey(c.ID), ETag: etag}, {Key: nameKey(c.Name)}}
	for _, h := range holds {
		ops = append(ops, holdOp(c.ID, h.Key, h.ETag, deletedHoldTTL))
	}
	return conflict(s.state.Transact(ctx, ops...))
}

// slugClaim is a slug's or a SKU's claim: the product it belongs to.
type slugClaim struct {
	ProductID string `json:"productId"`
}

func productKey(id string) string { return "product:" + id }
func slugKey(slug string) string  { return "product-slug:" + slug }

// productDocument is what is stored under product:<id>: the product, plus
// what the listing's SQL sorts and filters on. Created is
// readmodel.SortableTime; PriceAmount is
// the price as a JSON number, which JSONB keeps as an exact numeric.
type productDocument struct {
	domain.Product
	Created     string      `json:"created"`
	PriceAmount json.Number `json:"priceAmount"`
	SKUs        string      `json:"skus"` // the variants' SKUs, for search
}

func toDocument(p domain.Product) productDocument {
	skus := make([]string, 0, len(p.Variants))
	for _, v := range p.Variants {
		skus = append(skus, v.SKU)
	}
	return productDocument{Product: p, Created: readmodel.SortableTime(p.CreatedAt), PriceAmount: json.Number(p.Price.Amount()),
		SKUs: strings.Join(skus, " ")}
}

// Product reads product id and its ETag.
func (s *Store) Product(ctx context.Context, id string) (domain.Product, string, bool, error) {
	var d productDocument
	etag, found, err := s.state.Get(ctx, productKey(id), &d)
	return d.Product, etag, found, err
}

// ProductIDBySlug is the id of the product a slug names.
func (s *Store) ProductIDBySlug(ctx context.Context, slug string) (string, bool, error) {
	var c slugClaim
	_, found, err := s.state.Get(ctx, slugKey(slug), &c)
	return c.ProductID, found, err
}

// CreateProduct stores a new product and claims its slug, with its
// category hold and its event.
func (s *Store) CreateProduct(ctx context.Context, p domain.Product, use app.CategoryUse, e app.Event) error {
	return conflict(s.state.Transact(ctx,
		statestore.Op{Key: slugKey(p.Slug), Value: slugClaim{ProductID: p.ID}, Create: true},
		statestore.Op{Key: productKey(p.ID), Value: toDocument(p), Create: true},
		holdOp(p.CategoryID, use.Key, use.ETag, 0),
		eventOp(ctx, e),
	))
}

// SaveProduct writes p over the version at etag, with its category hold
// when use names one, claiming the SKUs in claim and freeing those in
// release, with its event, in one transaction.
func (s *Store) SaveProduct(ctx context.Context, p domain.Product, etag string, use app.CategoryUse, claim, release []string, e app.Event) error {
	ops := []statestore.Op{{Key: productKey(p.ID), Value: toDocument(p), ETag: etag}}
	if use.Key != "" {
		ops = append(ops, holdOp(p.CategoryID, use.Key, use.ETag, 0))
	}
	for _, sku := range claim {
		ops = append(ops, statestore.Op{Key: skuKey(sku), Value: slugClaim{ProductID: p.ID}, Create: true})
	}
	for _, sku := range release {
		ops = append(ops, statestore.Op{Key: skuKey(sku)})
	}
	ops = append(ops, eventOp(ctx, e))
	return conflict(s.state.Transact(ctx, ops...))
}

// SKUOwner is the id of the product whose variant holds sku.
func (s *Store) SKUOwner(ctx context.Context, sku string) (string, bool, error) {
	var c slugClaim
	_, found, err := s.state.Get(ctx, skuKey(sku), &c)
	return c.ProductID, found, err
}

func skuKey(sku string) string { return "sku:" + domain.SKUKey(sku) }

func conflict(err error) error {
	if errors.Is(err, statestore.ErrConflict) {
		return fmt.Errorf("%w: %v", app.ErrConflict, err)
	}
	return err
}
