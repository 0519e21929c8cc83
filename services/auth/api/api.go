// Package api is the auth service's HTTP surface; every route is listed in
// Routes. Handlers decode, call app, and encode; the rules live in app and
// domain.
package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/web"
	"github.com/qeetmart/qeetmart/services/auth/app"
)

// The gateway puts the verified caller in these headers; only the gateway's
// sidecar can reach this service (access control), so they can be trusted.
const headerUserID = "X-User-Id"

// Routes registers the auth API on r.
func Routes(r fiber.Router, a *app.Auth) {
	h := handlers{a}
	r.Get("/.well-known/jwks.json", h.jwks)
	r.Post("/auth/register", h.register)
	r.Post("/auth/login", h.login)
	r.Post("/auth/refresh-token", h.refresh)
	r.Post("/auth/logout", h.logout)
	r.Get("/auth/me", h.me)
}

type handlers struct{ auth *app.Auth }

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// userResponse is the public view of an account: never the hash.
type userResponse struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func client(c fiber.Ctx) app.Client {
	return app.Client{UserAgent: c.Get(fiber.HeaderUserAgent), IP: c.Get(fiber.HeaderXForwardedFor)}
}

func (h handlers) jwks(c fiber.Ctx) error {
	set, err := h.auth.JWKS(c.Context())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(set)
}

func (h handlers) register(c fiber.Ctx) error {
	var req credentials
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	pair, err := h.auth.Register(c.Context(), req.Email, req.Password, client(c))
	if err != nil {
		return answer(err)
	}
	return c.Status(http.StatusCreated).JSON(pair)
}

func (h handlers) login(c fiber.Ctx) error {
	var req credentials
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	if fields := required(map[string]string{"email": req.Email, "password": req.Password}); fields != nil {
		return answer(fields)
	}
	pair, err := h.auth.Login(c.Context(), req.Email, req.Password, client(c))
	if err != nil {
		return answer(err)
	}
	return c.JSON(pair)
}

// refreshToken reads the {refreshToken} body refresh and logout share.
func refreshToken(c fiber.Ctx) (string, error) {
	var req refreshRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return "", err
	}
	if fields := required(map[string]string{"refreshToken": req.RefreshToken}); fields != nil {
		return "", answer(fields)
	}
	return req.RefreshToken, nil
}

func (h handlers) refresh(c fiber.Ctx) error {
	token, err := refreshToken(c)
	if err != nil {
		return err
	}
	pair, err := h.auth.Refresh(c.Context(), token)
	if err != nil {
		return answer(err)
	}
	return c.JSON(pair)
}

func (h handlers) logout(c fiber.Ctx) error {
	token, err := refreshToken(c)
	if err != nil {
		return err
	}
	if err := h.auth.Logout(c.Context(), token); err != nil {
		return answer(err)
	}
	return c.JSON(fiber.Map{"message": "Logged out successfully"})
}

func (h handlers) me(c fiber.Ctx) error {
	id := c.Get(headerUserID)
	if id == "" {
		return errUnauthenticated
	}
	u, err := h.auth.Me(c.Context(), id)
	if err != nil {
		return answer(err)
	}
	return c.JSON(userResponse{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
}

func required(fields map[string]string) app.FieldErrors {
	missing := app.FieldErrors{}
	for name, v := range fields {
		if v == "" {
			missing[name] = name + " is required"
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return missing
}

var errUnauthenticated = web.NewError(http.StatusUnauthorized, web.CodeUnauthorized, "Authentication required")

// answer maps the use cases' errors to HTTP; anything else is a 500.
func answer(err error) error {
	var fields app.FieldErrors
	switch {
	case errors.As(err, &fields):
		return web.NewError(http.StatusBadRequest, web.CodeValidation, "Validation failed").WithDetails(map[string]string(fields))
	case errors.Is(err, app.ErrEmailTaken):
		return web.NewError(http.StatusConflict, "EMAIL_TAKEN", "Email is already registered")
	case errors.Is(err, app.ErrInvalidCredentials):
		return web.NewError(http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid email or password")
	case errors.Is(err, app.ErrInvalidRefresh):
		return web.NewError(http.StatusUnauthorized, "INVALID_REFRESH_TOKEN", "Refresh token is invalid")
	case errors.Is(err, app.ErrNotFound):
		return web.NewError(http.StatusNotFound, web.CodeNotFound, "User not found")
	}
	return err
}
