// Package api is the inventory service's HTTP surface; every route is
// listed in Routes. Handlers decode, call app, and encode in the
// original's envelope ({"success","message","data"}); the rules live in app
// and domain.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/internal/platform/web"
	"github.com/qeetmart/qeetmart/services/inventory/app"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// Routes registers the inventory API on r. Stock reads are public (the
// gateway lets anonymous GETs of /inventory/{id} and /inventory?ids=
// through, and anonymous readers see only what is available); everything
// else needs a caller.
func Routes(r fiber.Router, inv *app.Inventory) {
	h := handlers{inv}
	// Before /inventory/:productId, which would take "reservations".
	r.Get("/inventory/reservations", asCaller(h.reservationsOfOrder))
	r.Get("/inventory/reservations/:id", asCaller(h.reservation))
	r.Get("/inventory", h.stocks)
	r.Get("/inventory/:productId", h.stock)
	r.Post("/inventory/init", asCaller(h.init))
	r.Post("/inventory/add-stock", asCaller(h.addStock))
	r.Post("/inventory/adjust", asCaller(h.adjust))
	r.Post("/inventory/reserve", asCaller(h.reserve))
	r.Post("/inventory/release", asCaller(h.release))
	r.Post("/inventory/deduct", asCaller(h.deduct))
}

type handlers struct{ inv *app.Inventory }

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

// envelope is every successful answer.
type envelope struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func ok(c fiber.Ctx, status int, message string, data any) error {
	return c.Status(status).JSON(envelope{Success: true, Message: message, Data: data})
}

// stockView is a record as a caller may see it: all of it for admins,
// what a storefront shows for everyone else.
func stockView(s domain.Stock, who app.Caller) any {
	if !who.Admin() {
		return struct {
			ProductID string `json:"productId"`
			Available int64  `json:"availableQuantity"`
		}{s.ProductID, s.Available}
	}
	s.Allotted = nil // which replica holds which units is the service's own business
	return s
}

func (h handlers) stock(c fiber.Ctx) error {
	who := reader(c)
	s, err := h.inv.Stock(c.Context(), who, c.Params("productId"))
	if err != nil {
		return answer(err)
	}
	return ok(c, http.StatusOK, "inventory fetched", stockView(s, who))
}

func (h handlers) stocks(c fiber.Ctx) error {
	var ids []string
	if raw := c.Query("ids"); raw != "" {
		ids = strings.Split(raw, ",")
	}
	who := reader(c)
	list, err := h.inv.Stocks(c.Context(), who, ids)
	if err != nil {
		return answer(err)
	}
	out := make([]any, 0, len(list))
	for _, s := range list {
		out = append(out, stockView(s, who))
	}
	return ok(c, http.StatusOK, "inventory fetched", out)
}

type stockRequest struct {
	ProductID         string `json:"productId"`
	Quantity          int64  `json:"quantity"`
	LowStockThreshold int64  `json:"lowStockThreshold"`
	OnHand            *int64 `json:"onHand"`
	Reason            string `json:"reason"`
}

func (h handlers) init(c fiber.Ctx, who app.Caller) error {
	var req stockRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	s, err := h.inv.Init(c.Context(), who, req.ProductID, req.Quantity, req.LowStockThreshold)
	if err != nil {
		return answer(err)
	}
	return ok(c, http.StatusOK, "inventory initialized", stockView(s, who))
}

func (h handlers) addStock(c fiber.Ctx, who app.Caller) error {
	var req stockRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	s, err := h.inv.AddStock(c.Context(), who, req.ProductID, req.Quantity)
	if err != nil {
		return answer(err)
	}
	return ok(c, http.StatusOK, "stock added", stockView(s, who))
}

func (h handlers) adjust(c fiber.Ctx, who app.Caller) error {
	var req stockRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.OnHand == nil {
		return answer(validation.Errors{"onHand": "onHand is required"})
	}
	s, err := h.inv.Adjust(c.Context(), who, req.ProductID, *req.OnHand, req.Reason)
	if err != nil {
		return answer(err)
	}
	return ok(c, http.StatusOK, "stock adjusted", stockView(s, who))
}

type reserveRequest struct {
	OrderID   string        `json:"orderId"`
	ProductID string        `json:"productId"`
	Quantity  int64         `json:"quantity"`
	Items     []domain.Item `json:"items"`
}

func (h handlers) reserve(c fiber.Ctx, who app.Caller) error {
	var req reserveRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	items := req.Items
	switch {
	case req.ProductID != "" && items != nil:
		return answer(validation.Errors{"items": "send productId and quantity, or items, not both"})
	case items == nil:
		items = []domain.Item{{ProductID: req.ProductID, Quantity: req.Quantity}}
	}
	o, err := h.inv.Reserve(c.Context(), who, c.Get(headerIdempotencyKey), req.OrderID, items)
	if err != nil {
		return answer(err)
	}
	return answered(c, http.StatusCreated, "stock reserved", o)
}

// The client's key for a request it may send again (reserve, release,
// deduct), and the mark on an answer that repeats the first.
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
)

// answered is a reservation use case's answer, marked when it repeats the
// first answer to its Idempotency-Key.
func answered(c fiber.Ctx, status int, message string, o app.Outcome) error {
	if o.Replayed {
		c.Set(headerReplayed, "true")
	}
	return ok(c, status, message, reservationView(o.Reservation))
}

type settleRequest struct {
	ReservationID string `json:"reservationId"`
}

func (h handlers) release(c fiber.Ctx, who app.Caller) error {
	return h.settle(c, who, h.inv.Release, "reservation released")
}

func (h handlers) deduct(c fiber.Ctx, who app.Caller) error {
	return h.settle(c, who, h.inv.Deduct, "reservation deducted")
}

func (h handlers) settle(c fiber.Ctx, who app.Caller, end func(ctx context.Context, c app.Caller, key, id string) (app.Outcome, error), message string) error {
	var req settleRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.ReservationID) == "" {
		return answer(validation.Errors{"reservationId": "reservationId is required"})
	}
	o, err := end(c.Context(), who, c.Get(headerIdempotencyKey), req.ReservationID)
	if err != nil {
		return answer(err)
	}
	return answered(c, http.StatusOK, message, o)
}

func (h handlers) reservation(c fiber.Ctx, who app.Caller) error {
	r, err := h.inv.Reservation(c.Context(), who, c.Params("id"))
	if err != nil {
		return answer(err)
	}
	return ok(c, http.StatusOK, "reservation fetched", reservationView(r))
}

func (h handlers) reservationsOfOrder(c fiber.Ctx, who app.Caller) error {
	list, err := h.inv.ReservationsOfOrder(c.Context(), who, c.Query("orderId"))
	if err != nil {
		return answer(err)
	}
	out := make([]reservation, 0, len(list))
	for _, r := range list {
		out = append(out, reservationView(r))
	}
	return ok(c, http.StatusOK, "reservations fetched", out)
}

// reservation is the original's InventoryReservation, with its items; a
// reservation of one product also names it at the top, as the original's.
type reservation struct {
	ReservationID string        `json:"reservationId"`
	OrderID       string        `json:"orderId"`
	ProductID     string        `json:"productId,omitempty"`
	Quantity      int64         `json:"quantity,omitempty"`
	Items         []domain.Item `json:"items"`
	Status        domain.Status `json:"status"`
	ExpiresAt     time.Time     `json:"expiresAt"`
	CreatedAt     time.Time     `json:"createdAt"`
	UpdatedAt     time.Time     `json:"updatedAt"`
}

func reservationView(r domain.Reservation) reservation {
	v := reservation{ReservationID: r.ID, OrderID: r.OrderID, Items: r.Items, Status: r.Status,
		ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if len(r.Items) == 1 {
		v.ProductID, v.Quantity = r.Items[0].ProductID, r.Items[0].Quantity
	}
	return v
}

// codeValidation is the original inventory's code for every bad request.
const codeValidation = "VALIDATION_ERROR"

// decode reads the body; what is wrong with it is a VALIDATION_ERROR that
// says what (the platform's decoding, in the original's code).
func decode(c fiber.Ctx, v any) error {
	err := web.DecodeJSON(c, v)
	var e *web.Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest {
		return validationError(e.Message, e.Details)
	}
	return err
}

func validationError(message string, details any) error {
	if fields, ok := details.(map[string]string); ok {
		message = describe(fields)
	} else if s, ok := details.(string); ok {
		message += ": " + s
	}
	return web.NewError(http.StatusBadRequest, codeValidation, message).WithDetails(details)
}

// describe is every field's problem in one sentence, by field name.
func describe(fields map[string]string) string {
	problems := make([]string, 0, len(fields))
	for _, p := range fields {
		problems = append(problems, p)
	}
	slices.Sort(problems)
	return strings.Join(problems, "; ")
}

// answers maps the use cases' errors to the original's codes and words.
var answers = []web.ErrorAnswer[struct{}]{
	web.On(app.ErrForbidden, http.StatusForbidden, web.CodeForbidden, web.Said[struct{}]("You are not authorized to access this resource")),
	web.On(app.ErrStockNotFound, http.StatusNotFound, "PRODUCT_NOT_FOUND", web.Said[struct{}]("inventory record not found")),
	web.On(app.ErrReservationNotFound, http.StatusNotFound, "RESERVATION_NOT_FOUND", web.Said[struct{}]("reservation not found")),
	web.On(domain.ErrAlreadyReleased, http.StatusConflict, "RESERVATION_ALREADY_RELEASED", web.Said[struct{}]("reservation already released")),
	web.On(domain.ErrAlreadyDeducted, http.StatusConflict, "RESERVATION_ALREADY_DEDUCTED", web.Said[struct{}]("reservation already deducted")),
	web.On(domain.ErrExpired, http.StatusConflict, "RESERVATION_EXPIRED", web.Said[struct{}]("reservation expired")),
	web.On(domain.ErrInvalidStockState, http.StatusConflict, "INVALID_STOCK_STATE", web.Said[struct{}]("reserved stock is less than reservation quantity")),
	web.On(domain.ErrBelowHeld, http.StatusConflict, "INVALID_STOCK_STATE", web.Said[struct{}]("on hand would be less than the reserved and committed stock")),
	web.On(domain.ErrTooMuchStock, http.StatusConflict, "STOCK_LIMIT_EXCEEDED", web.Said[struct{}](fmt.Sprintf("on hand would exceed %d", domain.MaxQuantity))),
	web.On(domain.ErrRetired, http.StatusConflict, "PRODUCT_RETIRED", web.Said[struct{}]("the product was deleted from the catalog")),
	web.On(app.ErrKeyReused, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", web.Said[struct{}]("this Idempotency-Key was used with a different request")),
	web.On(app.ErrConflict, http.StatusConflict, web.CodeConflict, web.Said[struct{}]("the stock changed too often to apply this; try again")),
}

func answer(err error) error {
	var fields validation.Errors
	if errors.As(err, &fields) {
		return validationError("", map[string]string(fields))
	}
	var short *app.ShortError
	if errors.As(err, &short) {
		return web.NewError(http.StatusConflict, "INSUFFICIENT_STOCK", "not enough available stock").
			WithDetails(map[string][]string{"productIds": short.ProductIDs})
	}
	return web.AnswerFor(answers, err, struct{}{})
}
