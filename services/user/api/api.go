// Package api is the user service's HTTP surface; every route is listed in
// Routes. Handlers decode, call app, and encode; the rules live in app and
// domain.
package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/internal/platform/web"
	"github.com/qeetmart/qeetmart/services/user/app"
	"github.com/qeetmart/qeetmart/services/user/domain"
)

// Routes registers the user API on r: the whole surface, on one screen.
// Every route needs a caller (the gateway verified their token).
func Routes(r fiber.Router, u *app.Users) {
	h := handlers{u}
	r.Post("/users", asCaller(h.create))
	r.Get("/users", asCaller(h.list))
	r.Get("/users/:userId", asCaller(h.get))
	r.Put("/users/:userId", asCaller(h.replace))
	r.Delete("/users/:userId", asCaller(h.delete))

	r.Post("/users/:userId/addresses", asCaller(h.addAddress))
	r.Get("/users/:userId/addresses", asCaller(h.addresses))
	r.Put("/users/:userId/addresses/:addressId", asCaller(h.replaceAddress))
	r.Delete("/users/:userId/addresses/:addressId", asCaller(h.removeAddress))
}

type handlers struct{ users *app.Users }

// asCaller runs fn for the verified caller the gateway names in the caller
// headers; a request without one is a 401.
func asCaller(fn func(fiber.Ctx, app.Caller) error) fiber.Handler {
	return func(c fiber.Ctx) error {
		v, err := web.CallerOf(c)
		if err != nil {
			return err
		}
		return fn(c, app.Caller{UserID: v.UserID, Role: v.Role, Email: v.Email})
	}
}

type profileRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

func (r profileRequest) details() domain.Details {
	return domain.Details{Name: r.Name, Email: r.Email, Phone: r.Phone}
}

type profileResponse struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func viewProfile(p domain.Profile) profileResponse {
	return profileResponse{ID: p.ID, UserID: p.ID, Name: p.Name, Email: p.Email, Phone: p.Phone, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type addressRequest struct {
	Street    string `json:"street"`
	City      string `json:"city"`
	State     string `json:"state"`
	Pincode   string `json:"pincode"`
	Country   string `json:"country"`
	IsDefault *bool  `json:"isDefault"`
}

func (r addressRequest) fields() domain.AddressFields {
	return domain.AddressFields{Street: r.Street, City: r.City, State: r.State, Pincode: r.Pincode, Country: r.Country, IsDefault: r.IsDefault}
}

type addressResponse struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Street    string    `json:"street"`
	City      string    `json:"city"`
	State     string    `json:"state"`
	Pincode   string    `json:"pincode"`
	Country   string    `json:"country"`
	IsDefault bool      `json:"isDefault"`
	CreatedAt time.Time `json:"createdAt"`
}

func viewAddress(userID string, a domain.Address) addressResponse {
	return addressResponse{ID: a.ID, UserID: userID, Street: a.Street, City: a.City, State: a.State,
		Pincode: a.Pincode, Country: a.Country, IsDefault: a.IsDefault, CreatedAt: a.CreatedAt}
}

func (h handlers) create(c fiber.Ctx, who app.Caller) error {
	var req profileRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	p, err := h.users.Create(c.Context(), who, req.details())
	if errors.Is(err, app.ErrEmailTaken) {
		return web.NewError(http.StatusConflict, "EMAIL_TAKEN", "User profile already exists for email: "+validation.NormalizeEmail(req.Email))
	}
	if err != nil {
		return answer(err, subject{userID: who.UserID})
	}
	return c.Status(http.StatusCreated).JSON(viewProfile(p))
}

func (h handlers) list(c fiber.Ctx, who app.Caller) error {
	page, err := h.users.List(c.Context(), who, app.ListParams{Page: c.Query("page"), Size: c.Query("size"),
		SortBy: c.Query("sortBy"), SortDir: c.Query("sortDir"), Q: c.Query("q")})
	if err != nil {
		return answer(err, subject{})
	}
	return c.JSON(paging.Map(page, viewProfile))
}

func (h handlers) get(c fiber.Ctx, who app.Caller) error {
	id := c.Params("userId")
	p, etag, err := h.users.Get(c.Context(), who, id)
	if err != nil {
		return answer(err, subject{userID: id})
	}
	setETag(c, etag)
	return c.JSON(viewProfile(p))
}

func (h handlers) replace(c fiber.Ctx, who app.Caller) error {
	id := c.Params("userId")
	var req profileRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	p, err := h.users.Replace(c.Context(), who, id, req.details(), ifMatch(c))
	if err != nil {
		return answer(err, subject{userID: id, email: req.Email})
	}
	return c.JSON(viewProfile(p))
}

func (h handlers) delete(c fiber.Ctx, who app.Caller) error {
	id := c.Params("userId")
	if err := h.users.Delete(c.Context(), who, id, ifMatch(c)); err != nil {
		return answer(err, subject{userID: id})
	}
	return c.JSON(web.Message{Message: "User profile deleted successfully"})
}

func (h handlers) addAddress(c fiber.Ctx, who app.Caller) error {
	id := c.Params("userId")
	var req addressRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	a, err := h.users.AddAddress(c.Context(), who, id, req.fields(), ifMatch(c))
	if err != nil {
		return answer(err, subject{userID: id})
	}
	return c.Status(http.StatusCreated).JSON(viewAddress(id, a))
}

func (h handlers) addresses(c fiber.Ctx, who app.Caller) error {
	id := c.Params("userId")
	list, etag, err := h.users.Addresses(c.Context(), who, id)
	if err != nil {
		return answer(err, subject{userID: id})
	}
	out := make([]addressResponse, 0, len(list))
	for _, a := range list {
		out = append(out, viewAddress(id, a))
	}
	setETag(c, etag)
	return c.JSON(out)
}

func (h handlers) replaceAddress(c fiber.Ctx, who app.Caller) error {
	id, addressID := c.Params("userId"), c.Params("addressId")
	var req addressRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	a, err := h.users.ReplaceAddress(c.Context(), who, id, addressID, req.fields(), ifMatch(c))
	if err != nil {
		return answer(err, subject{userID: id, addressID: addressID})
	}
	return c.JSON(viewAddress(id, a))
}

func (h handlers) removeAddress(c fiber.Ctx, who app.Caller) error {
	id, addressID := c.Params("userId"), c.Params("addressId")
	if err := h.users.RemoveAddress(c.Context(), who, id, addressID, ifMatch(c)); err != nil {
		return answer(err, subject{userID: id, addressID: addressID})
	}
	return c.JSON(web.Message{Message: "Address deleted successfully"})
}

// setETag sends the profile's version as a strong entity tag.
func setETag(c fiber.Ctx, etag string) {
	if etag != "" {
		c.Set(fiber.HeaderETag, `"`+etag+`"`)
	}
}

// ifMatch reads If-Match: a list of entity tags, or "*". Weak tags never
// match (If-Match compares strongly, RFC 9110 §13.1.1).
func ifMatch(c fiber.Ctx) app.Precondition {
	var tags app.Precondition
	for _, t := range web.EntityTags(c.Get(fiber.HeaderIfMatch)) {
		if strings.HasPrefix(t, "W/") {
			t = "\x00unmatchable" // a weak tag says "only that version": it matches none
		}
		tags = append(tags, t)
	}
	return tags
}

// subject is what an answer's message names.
type subject struct {
	userID, addressID, email string
}

// answers maps the use cases' errors to what the client is told, in the
// original service's words.
var answers = []web.ErrorAnswer[subject]{
	web.On(app.ErrForbidden, http.StatusForbidden, web.CodeForbidden, web.Said[subject]("You are not authorized to access this resource")),
	web.On(app.ErrProfileNotFound, http.StatusNotFound, "PROFILE_NOT_FOUND", func(s subject) string { return "User profile not found for userId: " + s.userID }),
	web.On(domain.ErrAddressNotFound, http.StatusNotFound, "ADDRESS_NOT_FOUND", func(s subject) string {
		return fmt.Sprintf("Address not found for userId: %s and addressId: %s", s.userID, s.addressID)
	}),
	web.On(app.ErrProfileExists, http.StatusConflict, "PROFILE_EXISTS", func(s subject) string { return "User profile already exists for userId: " + s.userID }),
	web.On(app.ErrEmailTaken, http.StatusConflict, "EMAIL_TAKEN", func(s subject) string { return "Email already exists: " + validation.NormalizeEmail(s.email) }),
	web.On(app.ErrEmailMismatch, http.StatusBadRequest, "EMAIL_MISMATCH", web.Said[subject]("Email in payload must match token email")),
	web.On(domain.ErrTooManyAddresses, http.StatusConflict, "ADDRESS_LIMIT_REACHED", web.Said[subject](fmt.Sprintf("A user can have at most %d addresses", domain.MaxAddresses))),
	web.On(app.ErrStale, http.StatusPreconditionFailed, "PRECONDITION_FAILED", web.Said[subject]("The profile has changed since the version in If-Match; read it again")),
	web.On(app.ErrConflict, http.StatusConflict, web.CodeConflict, web.Said[subject]("Concurrent update; try again")),
	// Defence in depth: ids are checked before they become keys.
	web.On(statestore.ErrInvalidKey, http.StatusBadRequest, web.CodeBadRequest, web.Said[subject]("Malformed identifier")),
}

// answer turns a use case's error into the answer (web.AnswerFor).
func answer(err error, s subject) error { return web.AnswerFor(answers, err, s) }
