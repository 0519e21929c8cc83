// Command gateway is QeetMart's only public entry point. It answers clients
// on port 4000 and reaches every service through its own Dapr sidecar.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/qeetmart/qeetmart/gateway/apidocs"
	"github.com/qeetmart/qeetmart/gateway/clientip"
	"github.com/qeetmart/qeetmart/gateway/identity"
	"github.com/qeetmart/qeetmart/gateway/proxy"
	"github.com/qeetmart/qeetmart/gateway/ratelimit"
	"github.com/qeetmart/qeetmart/gateway/routing"
	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/health"
	"github.com/qeetmart/qeetmart/internal/platform/lifecycle"
	"github.com/qeetmart/qeetmart/internal/platform/logging"
	platformmetrics "github.com/qeetmart/qeetmart/internal/platform/metrics"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/telemetry"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

const name = "gateway"

// Config is the gateway's environment; docs/configuration.md lists it.
type Config struct {
	config.Common
	// HeaderLimit caps the request line plus headers, in bytes (431 above it).
	HeaderLimit int `env:"HEADER_LIMIT" envDefault:"16384"`
	// UpstreamTimeout is the gateway's own bound on a proxied call; the
	// per-attempt timeouts and retries are in dapr/resiliency.
	UpstreamTimeout time.Duration `env:"UPSTREAM_TIMEOUT" envDefault:"30s"`
	// MaxInFlight bounds the calls the gateway has open to all services at
	// once, MaxInFlightPerApp those to each one: past either, a request is
	// answered 503 with Retry-After at once rather than queued in the
	// sidecars, where it would slow every request behind it.
	MaxInFlight       int `env:"UPSTREAM_MAX_IN_FLIGHT" envDefault:"1024"`
	MaxInFlightPerApp int `env:"UPSTREAM_MAX_IN_FLIGHT_PER_APP" envDefault:"512"`
	// AdaptiveApps are the services whose bound follows the latency of
	// their calls, below MaxInFlightPerApp, where it starts; the others'
	// bound is fixed there ("none": every bound is fixed). A fixed bound
	// high enough for a burst lets an overload queue. Inventory is not
	// among them by default: it batches concurrent reservations, so its
	// latency rises with concurrency as its throughput does, and a bound
	// that follows latency would starve its batches (docs/gateway.md#shedding-load).
	AdaptiveApps []string `env:"UPSTREAM_ADAPTIVE_APPS" envSeparator:"," envDefault:"auth,user,product"`
	// AdaptiveFloor is the least an adaptive bound falls to. Under overload
	// the bound sits at its floor, so the floor trades the latency of what
	// is answered against how much is answered. The default favours the
	// latency, as issue 14 asks; 16 answers a quarter to a third more, at
	// 1.3-2.5× the answered p99 (measured in docs/benchmarks.md, "The floor
	// of the adaptive bound").
	AdaptiveFloor int `env:"UPSTREAM_ADAPTIVE_FLOOR" envDefault:"4"`
	// HealthTimeout bounds each service's check in /health/services.
	HealthTimeout time.Duration `env:"HEALTH_TIMEOUT" envDefault:"2s"`
	// Namespace is the Dapr namespace; app.namespace selects the no-retry
	// Resiliency target for requests that must not be replayed.
	Namespace string `env:"NAMESPACE" envDefault:"default"`

	JWTIssuer   string        `env:"JWT_ISSUER" envDefault:"qeetmart-auth"`
	JWTAudience string        `env:"JWT_AUDIENCE" envDefault:"qeetmart"`
	JWTLeeway   time.Duration `env:"JWT_LEEWAY" envDefault:"30s"`
	AuthApp     string        `env:"AUTH_APP_ID" envDefault:"auth"`
	// JWKSRefresh is how often the key set is refreshed; JWKSCooldown how
	// long after a fetch an unknown kid may trigger another.
	JWKSRefresh  time.Duration `env:"JWKS_REFRESH_INTERVAL" envDefault:"5m"`
	JWKSCooldown time.Duration `env:"JWKS_REFETCH_COOLDOWN" envDefault:"10s"`
	// RevocationSync is how often the revocations in force are read back
	// from auth: events carry them within about a second, this catches
	// what events lost (docs/gateway.md#revocation).
	RevocationSync time.Duration `env:"REVOCATION_SYNC_INTERVAL" envDefault:"15s"`

	RateLimitRPS       float64 `env:"RATE_LIMIT_RPS" envDefault:"50"`
	RateLimitBurst     int     `env:"RATE_LIMIT_BURST" envDefault:"100"`
	AuthRateLimitRPS   float64 `env:"AUTH_RATE_LIMIT_RPS" envDefault:"0.5"`
	AuthRateLimitBurst int     `env:"AUTH_RATE_LIMIT_BURST" envDefault:"10"`
	// TrustedProxies (CIDRs) may set X-Forwarded-For; empty means the
	// client IP is the TCP peer.
	TrustedProxies string `env:"TRUSTED_PROXIES"`

	CORSOrigins     []string `env:"CORS_ORIGINS" envSeparator:","`
	CORSCredentials bool     `env:"CORS_CREDENTIALS" envDefault:"false"`
	// HSTS adds Strict-Transport-Security: set it when TLS ends in front.
	HSTS bool `env:"HSTS" envDefault:"false"`
	// Docs serves the API's contracts and Swagger UI at /docs (public, rate
	// limited per address); false turns both off.
	Docs bool `env:"DOCS_ENABLED" envDefault:"true"`
}

// defaultPort is the gateway's public port when PORT is unset.
const defaultPort = 4000

// main serves; `gateway probe <path>` instead checks a running gateway
// (health.Probe).
func main() {
	health.ProbeMain(defaultPort)
	lifecycle.Main(run)
}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	cfg, err := config.Load[Config](environ)
	if err != nil {
		return err
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := logging.New(stdout, cfg.LogLevel, name)
	stopTracing, err := telemetry.Start(ctx, name, cfg.Version, cfg.OTLPEndpoint, log)
	if err != nil {
		return err
	}
	defer stopTracing()

	dapr := sidecar.New(cfg.DaprHTTPPort, cfg.DaprAPIToken)
	ips, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	keys := identity.NewKeys(jwksSource{dapr: dapr, app: cfg.AuthApp}, cfg.JWKSCooldown)
	revocations := identity.NewRevocationsToCatchUp()
	metrics := newMetrics()
	metrics.watchKeys(keys.Len)
	g := &gateway{
		cfg:         cfg,
		log:         log,
		dapr:        dapr,
		proxy:       &proxy.Forwarder{Sidecar: dapr},
		inFlight:    newInFlight(upstreams, cfg.MaxInFlight, cfg.MaxInFlightPerApp, cfg.AdaptiveApps, cfg.AdaptiveFloor),
		ips:         ips,
		verifier:    identity.NewVerifier(keys, revocations, cfg.JWTIssuer, cfg.JWTAudience, cfg.JWTLeeway),
		revocations: revocations,
		limiter:     ratelimit.New(ratelimit.Policy{PerSecond: cfg.RateLimitRPS, Burst: cfg.RateLimitBurst}),
		authLimiter: ratelimit.New(ratelimit.Policy{PerSecond: cfg.AuthRateLimitRPS, Burst: cfg.AuthRateLimitBurst}),
		metrics:     metrics,
	}
	if cfg.Docs {
		if g.docs, err = apidocs.New(routing.Table); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return web.Serve(ctx, g.routes(), cfg.Addr(), cfg.ShutdownTimeout, log) })
	admin := metrics.handler()
	admin.Handle("GET /health/services", servicesHealthDetail(dapr, upstreams, cfg.HealthTimeout))
	grp.Go(func() error { return platformmetrics.Serve(ctx, cfg.AdminAddrFor(defaultPort), admin) })
	grp.Go(func() error {
		keepFresh(ctx, cfg.JWKSRefresh, func(ctx context.Context) error {
			err := keys.Refresh(ctx)
			metrics.refreshed(err)
			if err != nil {
				return fmt.Errorf("JWKS refresh failed; keeping %d cached keys: %w", keys.Len(), err)
			}
			log.Info("JWKS loaded", "keys", keys.Len())
			return nil
		}, func() bool { return keys.Len() > 0 }, log)
		return nil
	})
	grp.Go(func() error {
		keepFresh(ctx, cfg.RevocationSync, func(ctx context.Context) error {
			inForce, err := revocationsInForce(ctx, dapr, cfg.AuthApp)
			if err != nil {
				return err
			}
			revocations.CatchUp(inForce)
			log.Debug("revocations read back", "in force", len(inForce))
			return nil
		}, revocations.CaughtUp, log)
		return nil
	})
	grp.Go(func() error { g.sweep(ctx); return nil })
	return grp.Wait()
}

func (c Config) validate() error {
	if c.AppAPIToken == "" {
		return errors.New("APP_API_TOKEN is required: the gateway's sidecar delivers revocations with it")
	}
	for _, o := range c.CORSOrigins {
		if strings.TrimSpace(o) == "*" && c.CORSCredentials {
			return errors.New("CORS_ORIGINS=* cannot be combined with CORS_CREDENTIALS=true")
		}
	}
	if c.AdaptiveFloor < 1 {
		return fmt.Errorf("UPSTREAM_ADAPTIVE_FLOOR is %d: an adaptive bound must let at least one call through", c.AdaptiveFloor)
	}
	// A misspelt name would quietly leave that service's bound fixed, and
	// its overload queueing, which no test of the default would notice.
	for _, app := range c.AdaptiveApps {
		if app != "none" && !slices.Contains(upstreams, app) {
			return fmt.Errorf("UPSTREAM_ADAPTIVE_APPS names %q: use none, or some of %s", app, strings.Join(upstreams, ","))
		}
	}
	return nil
}

// keepFresh runs load now and then every interval until ctx ends. Until
// ready, load is retried every 250 ms: auth may start after the gateway,
// which accepts no token without what it loads. A failed load keeps what
// an earlier one gave.
func keepFresh(ctx context.Context, every time.Duration, load func(context.Context) error, ready func() bool, log *slog.Logger) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = every
		if err := load(ctx); err != nil {
			if !ready() {
				wait = 250 * time.Millisecond
			}
			log.Warn("refresh from auth failed", "err", err)
		}
	}
}
