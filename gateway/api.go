package main

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/qeetmart/qeetmart/gateway/identity"
	"github.com/qeetmart/qeetmart/gateway/proxy"
	"github.com/qeetmart/qeetmart/gateway/ratelimit"
	"github.com/qeetmart/qeetmart/gateway/routing"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

var (
	errAuthRequired = web.NewError(http.StatusUnauthorized, web.CodeUnauthorized, "Authentication required")
	errRateLimited  = web.NewError(http.StatusTooManyRequests, web.CodeRateLimited, "Too many requests, please try again later")
	errNoRoute      = web.NewError(http.StatusNotFound, web.CodeNotFound, "Route not found")
	errBadPath      = web.NewError(http.StatusBadRequest, web.CodeBadRequest, "Malformed request path")
)

const canonicalPathKey = "canonicalPath"

// canonicalPath decodes the request path exactly once (routing.Canonical)
// and refuses, before anything else looks at it, a path that could mean one
// thing here and another to a sidecar: dot segments, encoded slashes,
// control characters, bad percent-encoding. Routes are matched, and
// upstream paths built, from this form only.
func canonicalPath(c fiber.Ctx) error {
	path, err := routing.Canonical(string(c.Request().URI().PathOriginal()))
	if err != nil {
		return errBadPath.WithDetails(err.Error())
	}
	c.Locals(canonicalPathKey, path)
	return c.Next()
}

// api handles every request bound for a service, in this order: the
// caller's identity, the rate limit (by user, else by IP), the token
// requirement, the route, then the call through Dapr. Unknown paths under
// /api are protected like known ones: 401 without a token, 404 with.
func (g *gateway) api(c fiber.Ctx) error {
	path, _ := c.Locals(canonicalPathKey).(string)
	method := c.Method()
	target, found := routing.Match(routing.Table, path)
	route := "unmatched"
	if found {
		route = target.Route.Prefix
	}
	c.Locals(routeLabel, route)

	// Credential paths (login, logout, ...) ignore any bearer token: they
	// prove who calls by what their body carries.
	var id *identity.Identity
	var authErr error
	if !found || !target.Route.Credential(path) {
		id, authErr = g.authenticate(c)
	}
	clientIP := g.clientIP(c)
	limiter, key := g.limiter, "ip:"+clientIP
	switch {
	case found && target.Route.Strict(path):
		limiter = g.authLimiter
	case id != nil:
		key = "user:" + id.UserID
	}
	if err := g.allow(c, limiter, key, route); err != nil {
		return err
	}

	if errors.Is(authErr, identity.ErrNotReady) {
		// Not the token's fault: this replica has just started and not yet
		// read auth's keys and revocations. A 401 would tell the client to
		// drop a good token; this tells it to try again.
		return errNotReady
	}
	public := found && target.Route.Public(method, path)
	if authErr != nil || (id == nil && !public) {
		g.metrics.authRejected.WithLabelValues(rejectReason(authErr)).Inc()
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="qeetmart"`)
		if authErr != nil {
			return web.NewError(http.StatusUnauthorized, web.CodeUnauthorized, "Invalid or expired token").WithDetails(rejectReason(authErr))
		}
		return errAuthRequired
	}
	if !found {
		return errNoRoute
	}

	app := target.Route.App
	if !routing.Idempotent(method) {
		// The app.namespace alias has a Resiliency target without retries,
		// so Dapr never replays a request that is unsafe to repeat.
		app += "." + g.cfg.Namespace
	}
	err := g.inFlight.admit(target.Route.App, func() error {
		return g.proxy.Forward(c, proxy.Request{
			App:       app,
			Path:      routing.Escape(target.Path),
			Caller:    callerHeaders(id),
			ClientIP:  clientIP,
			Timeout:   g.cfg.UpstreamTimeout,
			BodyLimit: int64(g.cfg.BodyLimit),
		})
	})
	var we *web.Error
	if errors.As(err, &we) && we.Status >= 500 {
		g.metrics.upstreamErrors.WithLabelValues(target.Route.App, we.Code).Inc()
	}
	return err
}

func (g *gateway) clientIP(c fiber.Ctx) string {
	return g.ips.ClientIP(c.RequestCtx().RemoteIP().String(), c.Get(fiber.HeaderXForwardedFor))
}

// allow takes one token from key's bucket, or refuses with 429.
func (g *gateway) allow(c fiber.Ctx, limiter *ratelimit.Limiter, key, route string) error {
	decision := limiter.Allow(key)
	setRateLimitHeaders(c, decision)
	if !decision.Allowed {
		g.metrics.rateLimited.WithLabelValues(route).Inc()
		return errRateLimited
	}
	return nil
}

// limitByAddress rate limits a public gateway endpoint per client address.
func (g *gateway) limitByAddress(c fiber.Ctx) error {
	if err := g.allow(c, g.limiter, "ip:"+g.clientIP(c), c.Route().Path); err != nil {
		return err
	}
	return c.Next()
}

// authenticate returns the verified identity of a bearer token, nil and no
// error when there is none, or why the token presented is not acceptable.
func (g *gateway) authenticate(c fiber.Ctx) (*identity.Identity, error) {
	header := c.Get(fiber.HeaderAuthorization)
	if header == "" {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, errMalformed
	}
	id, err := g.verifier.Verify(c.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return &id, nil
}

var errMalformed = errors.New("malformed authorization header")

var errNotReady = web.NewError(http.StatusServiceUnavailable, web.CodeUnavailable,
	"The gateway cannot verify tokens yet; try again shortly").WithRetryAfter(time.Second)

// rejectReason is a short, safe reason for a 401 (and a metrics label):
// enough for a client to act on, nothing about keys or internals.
func rejectReason(err error) string {
	switch {
	case err == nil:
		return reasonMissing
	case errors.Is(err, jwt.ErrTokenExpired):
		return reasonExpired
	case errors.Is(err, identity.ErrRevoked):
		return reasonRevoked
	case errors.Is(err, identity.ErrNotAccess):
		return reasonNotAccess
	case errors.Is(err, errMalformed):
		return reasonMalformed
	default:
		return reasonInvalid
	}
}

// Why a request was refused with 401 (gateway_auth_rejected_total's reason).
const (
	reasonMissing   = "missing token"
	reasonExpired   = "token expired"
	reasonRevoked   = "token revoked"
	reasonNotAccess = "not an access token"
	reasonMalformed = "malformed authorization header"
	reasonInvalid   = "invalid token"
)

// rejectReasons are every reason rejectReason gives.
var rejectReasons = []string{reasonMissing, reasonExpired, reasonRevoked, reasonNotAccess, reasonMalformed, reasonInvalid}

func callerHeaders(id *identity.Identity) map[string]string {
	if id == nil {
		return nil
	}
	return map[string]string{
		web.HeaderUserID:    id.UserID,
		web.HeaderUserRole:  id.Role,
		web.HeaderUserEmail: id.Email,
		web.HeaderSessionID: id.SessionID,
	}
}
