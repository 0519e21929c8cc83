// Package api is the product service's HTTP surface; every route is listed
// in Routes. Handlers decode, call app, and encode; the rules live in app
// and domain.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/platform/web"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/domain"
	"github.com/qeetmart/qeetmart/services/product/view"
)

// Routes registers the product API on r: the whole surface, on one screen.
// Reads are public (the gateway lets anonymous GETs through); writes need
// an admin, and run through writes (web.Admit: past its bound, 503).
//
// Successful reads carry an ETag and Cache-Control (shoppers' answers may
// be reused for maxAge; admins', which show hidden products, are private
// and revalidated every time), and If-None-Match turns them into a 304.
func Routes(r fiber.Router, a *app.Catalog, maxAge time.Duration, writes *admission.Gate) {
	h := handlers{a}
	cacheable := web.Cacheable(cachePolicy(maxAge))
	admit := web.Admit(writes, "catalog writes")
	r.Get("/categories", cacheable, h.categories)
	r.Get("/categories/:id", cacheable, h.category)
	r.Post("/categories", admit, asCaller(h.createCategory))
	r.Put("/categories/:id", admit, asCaller(h.replaceCategory))
	r.Delete("/categories/:id", admit, asCaller(h.deleteCategory))

	r.Get("/products", cacheable, h.products)
	r.Get("/products/search", cacheable, h.search)
	r.Get("/products/slug/:slug", cacheable, h.productBySlug)
	r.Get("/products/:id", cacheable, h.product)
	r.Post("/products", admit, asCaller(h.createProduct))
	r.Put("/products/:id", admit, asCaller(h.replaceProduct))
	r.Delete("/products/:id", admit, asCaller(h.deleteProduct))

	r.Get("/products/:id/variants", cacheable, h.variants)
	r.Post("/products/:id/variants", admit, asCaller(h.addVariant))
	r.Put("/products/:id/variants/:variantId", admit, asCaller(h.replaceVariant))
	r.Delete("/products/:id/variants/:variantId", admit, asCaller(h.removeVariant))
}

type handlers struct{ catalog *app.Catalog }

// cachePolicy is the Cache-Control of a successful read.
func cachePolicy(maxAge time.Duration) func(fiber.Ctx) string {
	shoppers := fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds()))
	return func(c fiber.Ctx) string {
		if reader(c).Role == app.RoleAdmin {
			return "private, no-cache"
		}
		return shoppers
	}
}

// asCaller runs fn for the verified caller; a request without one is a 401.
func asCaller(fn func(fiber.Ctx, app.Caller) error) fiber.Handler {
	return func(c fiber.Ctx) error {
		v, err := web.CallerOf(c)
		if err != nil {
			return err
		}
		return fn(c, app.Caller{UserID: v.UserID, Role: v.Role})
	}
}

// reader is who reads: the verified caller, or an anonymous shopper.
func reader(c fiber.Ctx) app.Caller {
	v, err := web.CallerOf(c)
	if err != nil {
		return app.Caller{}
	}
	return app.Caller{UserID: v.UserID, Role: v.Role}
}

type categoryRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (r categoryRequest) fields() domain.CategoryFields {
	return domain.CategoryFields{Name: r.Name, Description: r.Description}
}

func (h handlers) categories(c fiber.Ctx) error {
	list, err := h.catalog.Categories(c.Context())
	if err != nil {
		return err
	}
	out := make([]view.Category, 0, len(list))
	for _, cat := range list {
		out = append(out, view.OfCategory(cat))
	}
	return c.JSON(out)
}

func (h handlers) category(c fiber.Ctx) error {
	id := c.Params("id")
	cat, err := h.catalog.Category(c.Context(), id)
	if err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(view.OfCategory(cat))
}

func (h handlers) createCategory(c fiber.Ctx, who app.Caller) error {
	var req categoryRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	cat, err := h.catalog.CreateCategory(c.Context(), who, req.fields())
	if err != nil {
		return answer(err, subject{name: req.Name})
	}
	return c.Status(http.StatusCreated).JSON(view.OfCategory(cat))
}

func (h handlers) replaceCategory(c fiber.Ctx, who app.Caller) error {
	id := c.Params("id")
	var req categoryRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	cat, err := h.catalog.ReplaceCategory(c.Context(), who, id, req.fields())
	if err != nil {
		return answer(err, subject{id: id, name: req.Name})
	}
	return c.JSON(view.OfCategory(cat))
}

func (h handlers) deleteCategory(c fiber.Ctx, who app.Caller) error {
	id := c.Params("id")
	if err := h.catalog.DeleteCategory(c.Context(), who, id); err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(web.Message{Message: "Category deleted successfully"})
}

type productRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Brand       string          `json:"brand"`
	CategoryID  string          `json:"categoryId"`
	Price       json.RawMessage `json:"price"` // its digits, never a float
	Currency    string          `json:"currency"`
	Status      string          `json:"status"`
	Images      []string        `json:"images"`
}

func (r productRequest) fields() domain.ProductFields {
	return domain.ProductFields{Name: r.Name, Description: r.Description, Brand: r.Brand, CategoryID: r.CategoryID,
		Price: priceText(r.Price), Currency: r.Currency, Status: r.Status, Images: r.Images}
}

// priceText is the price exactly as the client wrote it: a JSON number's
// digits (anything else, a string too, fails domain's check with the field
// named); absent or null is "".
func priceText(raw json.RawMessage) string {
	text := strings.TrimSpace(string(raw))
	if text == "null" {
		return ""
	}
	return text
}

// productSlice is a keyset page: nextCursor is null on the last one.
type productSlice struct {
	Items      []view.Product `json:"items"`
	NextCursor *string        `json:"nextCursor"`
}

func (h handlers) products(c fiber.Ctx) error {
	who := reader(c)
	q, err := app.ProductParams{CategoryID: c.Query("categoryId"), Brand: c.Query("brand"), Status: c.Query("status"),
		MinPrice: c.Query("minPrice"), MaxPrice: c.Query("maxPrice"), Sort: c.Query("sort"),
		Limit: c.Query("limit"), Cursor: c.Query("cursor"), Page: c.Query("page"), Size: c.Query("size")}.Query(who)
	if err != nil {
		return err
	}
	if !q.Keyset {
		page, err := h.catalog.PageProducts(c.Context(), q)
		if err != nil {
			return err
		}
		return c.JSON(paging.Map(page, view.OfProduct))
	}
	slice, err := h.catalog.ListProducts(c.Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(viewSlice(slice))
}

func viewSlice(slice app.ProductSlice) productSlice {
	out := productSlice{Items: make([]view.Product, 0, len(slice.Items))}
	for _, p := range slice.Items {
		out.Items = append(out.Items, view.OfProduct(p))
	}
	if slice.Next != "" {
		out.NextCursor = &slice.Next
	}
	return out
}

func (h handlers) search(c fiber.Ctx) error {
	q, err := app.SearchParams{Query: c.Query("query"), Limit: c.Query("limit"), Cursor: c.Query("cursor"),
		Page: c.Query("page"), Size: c.Query("size")}.Search(reader(c))
	if err != nil {
		return err
	}
	if !q.Keyset {
		page, err := h.catalog.SearchPage(c.Context(), q)
		if err != nil {
			return err
		}
		return c.JSON(paging.Map(page, view.OfProduct))
	}
	slice, err := h.catalog.SearchAfter(c.Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(viewSlice(slice))
}

func (h handlers) product(c fiber.Ctx) error {
	id := c.Params("id")
	p, err := h.catalog.Product(c.Context(), reader(c), id)
	if err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(view.OfProduct(p))
}

func (h handlers) productBySlug(c fiber.Ctx) error {
	slug := c.Params("slug")
	p, err := h.catalog.ProductBySlug(c.Context(), reader(c), slug)
	if err != nil {
		return answer(err, subject{id: slug})
	}
	return c.JSON(view.OfProduct(p))
}

func (h handlers) createProduct(c fiber.Ctx, who app.Caller) error {
	var req productRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	p, err := h.catalog.CreateProduct(c.Context(), who, req.fields())
	if err != nil {
		return answer(err, subject{id: req.CategoryID})
	}
	return c.Status(http.StatusCreated).JSON(view.OfProduct(p))
}

func (h handlers) replaceProduct(c fiber.Ctx, who app.Caller) error {
	id := c.Params("id")
	var req productRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	p, err := h.catalog.ReplaceProduct(c.Context(), who, id, req.fields())
	if errors.Is(err, app.ErrCategoryNotFound) {
		return answer(err, subject{id: req.CategoryID})
	}
	if err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(view.OfProduct(p))
}

func (h handlers) deleteProduct(c fiber.Ctx, who app.Caller) error {
	id := c.Params("id")
	if err := h.catalog.DeleteProduct(c.Context(), who, id); err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(web.Message{Message: "Product deleted successfully"})
}

type variantRequest struct {
	SKU             string          `json:"sku"`
	Color           string          `json:"color"`
	Size            string          `json:"size"`
	AdditionalPrice json.RawMessage `json:"additionalPrice"`
}

func (r variantRequest) fields() domain.VariantFields {
	return domain.VariantFields{SKU: r.SKU, Color: r.Color, Size: r.Size, AdditionalPrice: priceText(r.AdditionalPrice)}
}

func (h handlers) variants(c fiber.Ctx) error {
	id := c.Params("id")
	list, err := h.catalog.Variants(c.Context(), reader(c), id)
	if err != nil {
		return answer(err, subject{id: id})
	}
	out := make([]view.Variant, 0, len(list))
	for _, v := range list {
		out = append(out, view.OfVariant(id, v))
	}
	return c.JSON(out)
}

func (h handlers) addVariant(c fiber.Ctx, who app.Caller) error {
	id := c.Params("id")
	var req variantRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := h.catalog.AddVariant(c.Context(), who, id, req.fields())
	if err != nil {
		return answer(err, subject{id: id, name: req.SKU})
	}
	return c.Status(http.StatusCreated).JSON(view.OfVariant(id, v))
}

func (h handlers) replaceVariant(c fiber.Ctx, who app.Caller) error {
	id, variantID := c.Params("id"), c.Params("variantId")
	var req variantRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := h.catalog.ReplaceVariant(c.Context(), who, id, variantID, req.fields())
	if err != nil {
		return answer(err, subject{id: id, variantID: variantID, name: req.SKU})
	}
	return c.JSON(view.OfVariant(id, v))
}

func (h handlers) removeVariant(c fiber.Ctx, who app.Caller) error {
	id, variantID := c.Params("id"), c.Params("variantId")
	if err := h.catalog.RemoveVariant(c.Context(), who, id, variantID); err != nil {
		return answer(err, subject{id: id, variantID: variantID})
	}
	return c.JSON(web.Message{Message: "Variant deleted successfully"})
}

// subject is what an answer's message names.
type subject struct{ id, variantID, name string }

// answers maps the use cases' errors to what the client is told, in the
// original service's words.
var answers = []web.ErrorAnswer[subject]{
	web.On(app.ErrForbidden, http.StatusForbidden, web.CodeForbidden, web.Said[subject]("You are not authorized to access this resource")),
	web.On(app.ErrCategoryNotFound, http.StatusNotFound, "CATEGORY_NOT_FOUND", func(s subject) string { return "Category not found with id: " + s.id }),
	web.On(app.ErrNameTaken, http.StatusConflict, "CATEGORY_EXISTS", func(s subject) string {
		return "Category with name '" + domain.CategoryName(s.name) + "' already exists"
	}),
	web.On(app.ErrProductNotFound, http.StatusNotFound, "PRODUCT_NOT_FOUND", func(s subject) string { return "Product not found with id: " + s.id }),
	web.On(app.ErrCategoryInUse, http.StatusConflict, "CATEGORY_IN_USE", func(subject) string {
		return "Category cannot be deleted because active products are linked to it"
	}),
	web.On(domain.ErrVariantNotFound, http.StatusNotFound, "VARIANT_NOT_FOUND", func(s subject) string { return "Variant not found with id: " + s.variantID }),
	web.On(app.ErrSKUTaken, http.StatusConflict, "SKU_EXISTS", func(s subject) string {
		return "Variant with SKU '" + strings.TrimSpace(s.name) + "' already exists"
	}),
	web.On(domain.ErrTooManyVariants, http.StatusConflict, "VARIANT_LIMIT_REACHED", func(subject) string {
		return fmt.Sprintf("A product can have at most %d variants", domain.MaxVariants)
	}),
	web.On(app.ErrConflict, http.StatusConflict, web.CodeConflict, web.Said[subject]("Concurrent update; try again")),
	// Defence in depth: every key part is checked before it gets here.
	web.On(statestore.ErrInvalidKey, http.StatusBadRequest, web.CodeBadRequest, web.Said[subject]("Malformed identifier")),
}

// answer turns a use case's error into the answer (web.AnswerFor).
func answer(err error, s subject) error { return web.AnswerFor(answers, err, s) }
