package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/cors"

	"github.com/qeetmart/qeetmart/gateway/apidocs"
	"github.com/qeetmart/qeetmart/gateway/clientip"
	"github.com/qeetmart/qeetmart/gateway/identity"
	"github.com/qeetmart/qeetmart/gateway/proxy"
	"github.com/qeetmart/qeetmart/gateway/ratelimit"
	"github.com/qeetmart/qeetmart/internal/platform/health"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// upstreams are the app-ids the gateway fronts, in the order /health/services
// reports them.
var upstreams = []string{"auth", "user", "product", "inventory"}

// gateway holds the gateway's dependencies; its handlers are methods.
type gateway struct {
	cfg         Config
	log         *slog.Logger
	dapr        *sidecar.Client
	proxy       *proxy.Forwarder
	inFlight    *inFlight // bounds on open upstream calls
	ips         *clientip.Resolver
	verifier    *identity.Verifier
	revocations *identity.Revocations
	limiter     *ratelimit.Limiter // per user, or per IP when anonymous
	authLimiter *ratelimit.Limiter // login, register, refresh-token: per IP
	metrics     *metrics
	docs        *apidocs.Docs // nil: /docs is off
}

// routes is the gateway's whole HTTP surface.
func (g *gateway) routes() *fiber.App {
	app := web.NewApp(web.AppOptions{
		Name:           name,
		Log:            g.log,
		BodyLimit:      g.cfg.BodyLimit,
		ReadBufferSize: g.cfg.HeaderLimit,
		// Request bodies reach services as a stream, never re-encoded.
		StreamRequestBody: true,
		Timeouts:          g.cfg.Timeouts(),
		Headers:           securityHeaders(g.cfg.HSTS),
	})
	app.Use(g.metrics.registry.Server(), g.metrics.middleware())
	// No CORS_ORIGINS means no CORS at all: Fiber's cors would answer every
	// origin with * when its list is empty.
	if len(g.cfg.CORSOrigins) > 0 {
		app.Use(g.cors())
	}
	app.Use(canonicalPath)

	app.Get("/health", health.Live(name))
	// Ready when the gateway can reach its sidecar. Auth's keys are not a
	// condition: without them public routes still work, and a fleet-wide
	// "not ready" while auth is down would take anonymous browsing down too.
	// The key count is the gateway_jwks_keys gauge.
	app.Get("/ready", health.Ready(name, g.cfg.HealthTimeout, health.Check{
		Name:  "sidecar",
		Probe: g.dapr.Outbound,
	}))
	// Rate limited per address like any public path: each call fans out to
	// every service.
	app.Get("/health/services", g.limitByAddress, servicesHealth(g.dapr, upstreams, g.cfg.HealthTimeout, g.log))
	app.Get("/info", info(g.cfg.Version))
	if g.docs != nil {
		g.docs.Register(app, g.limitByAddress)
	}

	// Dapr delivers revocation events here; only the gateway's own sidecar
	// holds the token.
	dapr := app.Group("/dapr", web.AppToken(g.cfg.AppAPIToken))
	dapr.Get("/subscribe", subscriptions)
	dapr.Post("/events/revocations", g.applyRevocation)

	app.All("/.well-known/jwks.json", g.api)
	app.All("/api/*", g.api)
	return app
}

func info(version string) fiber.Handler {
	return func(c fiber.Ctx) error {
		return c.JSON(fiber.Map{"name": "QeetMart API Gateway", "version": version, "timestamp": time.Now().UTC()})
	}
}

func (g *gateway) cors() fiber.Handler {
	return cors.New(cors.Config{
		AllowOrigins:     g.cfg.CORSOrigins,
		AllowCredentials: g.cfg.CORSCredentials,
		AllowMethods:     []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     []string{"Authorization", "Content-Type", web.HeaderCorrelationID, "Idempotency-Key"},
		ExposeHeaders:    []string{web.HeaderCorrelationID, "Idempotent-Replayed", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"},
		MaxAge:           600,
	})
}

// securityHeaders are set on every answer, proxied ones included.
func securityHeaders(hsts bool) func(fiber.Ctx) {
	return func(c fiber.Ctx) {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		c.Set("Referrer-Policy", "no-referrer")
		c.Set("Cross-Origin-Resource-Policy", "same-origin")
		if hsts {
			c.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
	}
}

// setRateLimitHeaders writes the IETF draft RateLimit fields (whole seconds,
// rounded up so a client never retries too early).
func setRateLimitHeaders(c fiber.Ctx, d ratelimit.Decision) {
	c.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	c.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	c.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
	if !d.Allowed {
		c.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
	}
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// sweep forgets idle rate-limit buckets and lapsed revocations.
func (g *gateway) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.limiter.Sweep(10 * time.Minute)
			g.authLimiter.Sweep(10 * time.Minute)
			g.revocations.Sweep()
		}
	}
}
