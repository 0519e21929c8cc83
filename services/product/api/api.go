// Package api is the product service's HTTP surface; every route is listed
// in Routes. Handlers decode, call app, and encode; the rules live in app
// and domain.
package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/platform/web"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/domain"
)

// Routes registers the product API on r: the whole surface, on one screen.
// Reads are public (the gateway lets anonymous GETs through); writes need
// an admin.
func Routes(r fiber.Router, a *app.Catalog) {
	h := handlers{a}
	r.Get("/categories", h.categories)
	r.Get("/categories/:id", h.category)
	r.Post("/categories", asCaller(h.createCategory))
	r.Put("/categories/:id", asCaller(h.replaceCategory))
	r.Delete("/categories/:id", asCaller(h.deleteCategory))
}

type handlers struct{ catalog *app.Catalog }

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

type categoryRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (r categoryRequest) fields() domain.CategoryFields {
	return domain.CategoryFields{Name: r.Name, Description: r.Description}
}

type categoryResponse struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func viewCategory(c domain.Category) categoryResponse {
	return categoryResponse{ID: c.ID, Name: c.Name, Description: c.Description, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (h handlers) categories(c fiber.Ctx) error {
	list, err := h.catalog.Categories(c.Context())
	if err != nil {
		return err
	}
	out := make([]categoryResponse, 0, len(list))
	for _, cat := range list {
		out = append(out, viewCategory(cat))
	}
	return c.JSON(out)
}

func (h handlers) category(c fiber.Ctx) error {
	id := c.Params("id")
	cat, err := h.catalog.Category(c.Context(), id)
	if err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(viewCategory(cat))
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
	return c.Status(http.StatusCreated).JSON(viewCategory(cat))
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
	return c.JSON(viewCategory(cat))
}

func (h handlers) deleteCategory(c fiber.Ctx, who app.Caller) error {
	id := c.Params("id")
	if err := h.catalog.DeleteCategory(c.Context(), who, id); err != nil {
		return answer(err, subject{id: id})
	}
	return c.JSON(web.Message{Message: "Category deleted successfully"})
}

// subject is what an answer's message names.
type subject struct{ id, name string }

// answers maps the use cases' errors to what the client is told, in the
// original service's words.
var answers = []struct {
	err     error
	status  int
	code    string
	message func(subject) string
}{
	{app.ErrForbidden, http.StatusForbidden, web.CodeForbidden, func(subject) string { return "You are not authorized to access this resource" }},
	{app.ErrCategoryNotFound, http.StatusNotFound, "CATEGORY_NOT_FOUND", func(s subject) string { return "Category not found with id: " + s.id }},
	{app.ErrNameTaken, http.StatusConflict, "CATEGORY_EXISTS", func(s subject) string {
		return "Category with name '" + domain.CategoryName(s.name) + "' already exists"
	}},
	{app.ErrConflict, http.StatusConflict, web.CodeConflict, func(subject) string { return "Concurrent update; try again" }},
	// Defence in depth: every key part is checked before it gets here.
	{statestore.ErrInvalidKey, http.StatusBadRequest, web.CodeBadRequest, func(subject) string { return "Malformed identifier" }},
}

// answer turns a use case's error into the answer; anything unknown goes on
// to the error handler.
func answer(err error, s subject) error {
	for _, a := range answers {
		if errors.Is(err, a.err) {
			return web.NewError(a.status, a.code, a.message(s))
		}
	}
	return err
}
