// Package api is the auth service's HTTP surface; every route is listed in
// Routes. Handlers decode, call app, and encode; the rules live in app and
// domain.
package api

import (
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/internal/platform/web"
	"github.com/qeetmart/qeetmart/services/auth/app"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// Routes registers the auth API on r: the whole surface, on one screen.
func Routes(r fiber.Router, a *app.Auth) {
	h := handlers{a}
	r.Get("/.well-known/jwks.json", h.jwks)
	r.Post("/auth/register", h.register)
	r.Post("/auth/login", h.login)
	r.Post("/auth/refresh-token", h.refresh)
	r.Post("/auth/logout", h.logout)

	// The caller's own account and sessions.
	r.Get("/auth/me", asCaller(h.me))
	r.Post("/auth/change-password", asCaller(h.changePassword))
	r.Get("/auth/sessions", asCaller(h.sessions))
	r.Delete("/auth/sessions/:id", asCaller(h.endSession))
	r.Post("/auth/logout-all", asCaller(h.logoutAll))

	// Admin only (checked against the stored account in app).
	r.Get("/auth/users", asCaller(h.users))
	r.Put("/auth/users/:id/role", asCaller(h.setRole))
	r.Post("/auth/users/:id/disable", asCaller(h.setDisabled(true)))
	r.Post("/auth/users/:id/enable", asCaller(h.setDisabled(false)))
	r.Post("/auth/keys/rotate", asCaller(h.rotateKeys))

	// For the gateway only: outside /auth, so no public route reaches it.
	r.Get("/revocations", h.revocations)
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

func viewUser(u domain.User) userResponse {
	return userResponse{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// adminUserResponse is what admins see of an account.
type adminUserResponse struct {
	userResponse
	Disabled bool `json:"disabled"`
}

func viewUserAsAdmin(u domain.User) adminUserResponse {
	return adminUserResponse{userResponse: viewUser(u), Disabled: u.Disabled}
}

type sessionResponse struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	UserAgent  string    `json:"userAgent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// asCaller runs fn for the verified caller the gateway names in the
// web.Header* caller headers; a request
// without one is a 401.
func asCaller(fn func(fiber.Ctx, app.Caller) error) fiber.Handler {
	return func(c fiber.Ctx) error {
		v, err := web.CallerOf(c)
		if err != nil {
			return err
		}
		return fn(c, app.Caller{UserID: v.UserID, SessionID: v.SessionID, IP: clientIP(c)})
	}
}

func client(c fiber.Ctx) app.Client {
	return app.Client{UserAgent: c.Get(fiber.HeaderUserAgent), IP: clientIP(c)}
}

// clientIP is the address the gateway reports (it sets X-Forwarded-For to
// the one address it resolved); anything that is not an address is none.
func clientIP(c fiber.Ctx) string {
	ip, err := netip.ParseAddr(c.Get(fiber.HeaderXForwardedFor))
	if err != nil {
		return ""
	}
	return ip.String()
}

func (h handlers) jwks(c fiber.Ctx) error {
	set, err := h.auth.JWKS(c.Context())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(set)
}

// revocations answers the gateway's catch-up read: every revocation still
// in force, in the shape the events carry.
func (h handlers) revocations(c fiber.Ctx) error {
	list, err := h.auth.Revocations(c.Context())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"revocations": list})
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
	return c.JSON(web.Message{Message: "Logged out successfully"})
}

func (h handlers) me(c fiber.Ctx, who app.Caller) error {
	u, err := h.auth.Me(c.Context(), who.UserID)
	if err != nil {
		return answer(err)
	}
	return c.JSON(viewUser(u))
}

func (h handlers) changePassword(c fiber.Ctx, who app.Caller) error {
	var req struct {
		OldPassword string `json:"oldPassword"`
		NewPassword string `json:"newPassword"`
	}
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	if fields := required(map[string]string{"oldPassword": req.OldPassword, "newPassword": req.NewPassword}); fields != nil {
		return answer(fields)
	}
	if err := h.auth.ChangePassword(c.Context(), who, req.OldPassword, req.NewPassword); err != nil {
		return answer(err)
	}
	return c.JSON(web.Message{Message: "Password changed successfully"})
}

func (h handlers) sessions(c fiber.Ctx, who app.Caller) error {
	list, err := h.auth.Sessions(c.Context(), who)
	if err != nil {
		return answer(err)
	}
	out := make([]sessionResponse, 0, len(list))
	for _, s := range list {
		out = append(out, sessionResponse{ID: s.ID, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt,
			UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == who.SessionID})
	}
	return c.JSON(out)
}

func (h handlers) endSession(c fiber.Ctx, who app.Caller) error {
	if err := h.auth.EndSession(c.Context(), who, c.Params("id")); err != nil {
		return answer(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h handlers) logoutAll(c fiber.Ctx, who app.Caller) error {
	if err := h.auth.LogoutAll(c.Context(), who); err != nil {
		return answer(err)
	}
	return c.JSON(web.Message{Message: "Logged out of all sessions"})
}

func (h handlers) users(c fiber.Ctx, who app.Caller) error {
	errs := validation.Errors{}
	page := paging.Parse(c.Query("page"), c.Query("size"), errs)
	if err := errs.Err(); err != nil {
		return err
	}
	list, err := h.auth.Users(c.Context(), who, page)
	if err != nil {
		return answer(err)
	}
	return c.JSON(paging.Map(list, viewUserAsAdmin))
}

func (h handlers) setRole(c fiber.Ctx, who app.Caller) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	u, err := h.auth.SetRole(c.Context(), who, c.Params("id"), req.Role)
	if err != nil {
		return answer(err)
	}
	return c.JSON(viewUserAsAdmin(u))
}

func (h handlers) setDisabled(disabled bool) func(fiber.Ctx, app.Caller) error {
	return func(c fiber.Ctx, who app.Caller) error {
		u, err := h.auth.SetDisabled(c.Context(), who, c.Params("id"), disabled)
		if err != nil {
			return answer(err)
		}
		return c.JSON(viewUserAsAdmin(u))
	}
}

func (h handlers) rotateKeys(c fiber.Ctx, who app.Caller) error {
	key, err := h.auth.RotateKeys(c.Context(), who)
	if err != nil {
		return answer(err)
	}
	return c.JSON(fiber.Map{"kid": key.KID, "activeFrom": key.ActiveFrom})
}

func required(fields map[string]string) validation.Errors {
	missing := validation.Errors{}
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

var errThrottled = web.NewError(http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS", "Too many failed logins; try again later")

// answers maps the use cases' errors to what the client is told.
var answers = []struct {
	err error
	to  *web.Error
}{
	{app.ErrEmailTaken, web.NewError(http.StatusConflict, "EMAIL_TAKEN", "Email is already registered")},
	{app.ErrInvalidCredentials, web.NewError(http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid email or password")},
	{app.ErrInvalidRefresh, web.NewError(http.StatusUnauthorized, "INVALID_REFRESH_TOKEN", "Refresh token is invalid")},
	{app.ErrUserNotFound, web.NewError(http.StatusNotFound, web.CodeNotFound, "User not found")},
	{app.ErrSessionNotFound, web.NewError(http.StatusNotFound, web.CodeNotFound, "Session not found")},
	{app.ErrWrongPassword, web.NewError(http.StatusUnauthorized, "INVALID_PASSWORD", "Old password is incorrect")},
	{app.ErrSamePassword, web.NewError(http.StatusBadRequest, web.CodeBadRequest, "New password must be different from old password")},
	{app.ErrForbidden, web.NewError(http.StatusForbidden, web.CodeForbidden, "Access denied")},
	{app.ErrOwnAccount, web.NewError(http.StatusConflict, web.CodeConflict, "Admins cannot disable or demote their own account")},
	{app.ErrConflict, web.NewError(http.StatusConflict, web.CodeConflict, "Concurrent update; try again")},
	{app.ErrBusy, web.NewError(http.StatusServiceUnavailable, web.CodeBusy, "Too many password checks in progress; try again shortly").WithRetryAfter(time.Second)},
	// Defence in depth: every field that becomes part of a key is checked
	// before it gets here.
	{statestore.ErrInvalidKey, web.NewError(http.StatusBadRequest, web.CodeBadRequest, "Malformed identifier")},
}

// answer turns a use case's error into the answer; anything unknown is a
// 500 that hides its internals.
func answer(err error) error {
	if throttled := (app.ThrottledError{}); errors.As(err, &throttled) {
		return errThrottled.WithRetryAfter(throttled.RetryAfter)
	}
	for _, a := range answers {
		if errors.Is(err, a.err) {
			return a.to
		}
	}
	return err
}
