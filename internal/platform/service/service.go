// Package service is the skeleton every QeetMart service runs on: config,
// logger, tracing, the sidecar client, the app-token guard, health and
// graceful shutdown. A service supplies its name, state stores and routes.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/gofiber/fiber/v3"
	"golang.org/x/sync/errgroup"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/health"
	"github.com/qeetmart/qeetmart/internal/platform/lifecycle"
	"github.com/qeetmart/qeetmart/internal/platform/logging"
	"github.com/qeetmart/qeetmart/internal/platform/metrics"
	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/telemetry"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// Spec describes one service.
type Spec struct {
	Name        string   // the Dapr app-id
	DefaultPort int      // used when PORT is unset
	Stores      []string // Dapr state stores /ready checks
	// Routes sets the service up and registers its API before the service
	// serves; Deps carries what handlers need. An error stops the start.
	Routes func(ctx context.Context, r fiber.Router, d Deps) error
}

// Deps are the dependencies a service's handlers receive explicitly.
type Deps struct {
	Name    string // the service's app-id
	Config  config.Common
	Environ []string // for the service's own settings (config.Load)
	Sidecar *sidecar.Client
	Log     *slog.Logger
	// Metrics is where the service registers its own series, served with
	// the RED metrics of its routes on its admin address.
	Metrics *metrics.Registry
	// OnStop registers fn to run after the server has drained (closing a
	// database pool, say); the last registered runs first.
	OnStop func(fn func())
}

// headerLimit bounds a request's line and headers at a service. It is
// twice what the gateway accepts from a client (HEADER_LIMIT, 16 KiB), so
// that what the gateway and both sidecars add (caller headers, trace
// context, dapr-api-token) always fits: with fasthttp's default of 4 KiB, a
// long path a client may send made the service answer 431 and drop the
// connection while daprd was still writing, which reached the client as a
// 502.
const headerLimit = 32 << 10

// Run serves spec until ctx ends. environ is os.Environ() or a test's own.
func Run(ctx context.Context, spec Spec, environ []string, stdout io.Writer) error {
	cfg, err := config.Load[config.Common](environ)
	if err != nil {
		return err
	}
	if cfg.Port == 0 {
		cfg.Port = spec.DefaultPort
	}
	if cfg.AppAPIToken == "" {
		// Secure by default: without a token anyone on the host could call
		// the service around its sidecar.
		return errors.New("APP_API_TOKEN is required: the service accepts calls only from its sidecar")
	}
	log := logging.New(stdout, cfg.LogLevel, spec.Name)

	stopTracing, err := telemetry.Start(ctx, spec.Name, cfg.Version, cfg.OTLPEndpoint, log)
	if err != nil {
		return err
	}
	defer stopTracing()

	dapr := sidecar.New(cfg.DaprHTTPPort, cfg.DaprAPIToken)
	checks := make([]health.Check, 0, len(spec.Stores))
	for _, store := range spec.Stores {
		checks = append(checks, health.Check{
			Name:  "state:" + store,
			Probe: func(ctx context.Context) error { return dapr.StateStoreAnswers(ctx, store) },
		})
	}

	app := web.NewApp(web.AppOptions{Name: spec.Name, Log: log, BodyLimit: cfg.BodyLimit,
		ReadBufferSize: headerLimit, UnescapePath: true, Timeouts: cfg.Timeouts()})
	reg := metrics.New()
	app.Use(reg.Server(), web.AppToken(cfg.AppAPIToken, "/health"), web.Deadline(cfg.RequestTimeout))
	Probes(app, spec.Name, cfg.ReadyTimeout, checks...)
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	if spec.Routes != nil {
		deps := Deps{Name: spec.Name, Config: cfg, Environ: environ, Sidecar: dapr, Log: log, Metrics: reg,
			OnStop: func(fn func()) { closers = append(closers, fn) }}
		if err := spec.Routes(ctx, app, deps); err != nil {
			return fmt.Errorf("%s: %w", spec.Name, err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return web.Serve(ctx, app, cfg.Addr(), cfg.ShutdownTimeout, log) })
	grp.Go(func() error { return metrics.Serve(ctx, cfg.AdminAddrFor(spec.DefaultPort), reg.Handler()) })
	if err := grp.Wait(); err != nil {
		return fmt.Errorf("%s: %w", spec.Name, err)
	}
	return nil
}

// Probes registers what every service serves besides its API: liveness
// (/health) and readiness (/ready, answering only when every check does
// within timeout).
func Probes(r fiber.Router, name string, timeout time.Duration, checks ...health.Check) {
	r.Get("/health", health.Live(name))
	r.Get("/ready", health.Ready(name, timeout, checks...))
}

// Main is a service's whole main function: it runs spec until SIGINT or
// SIGTERM and exits non-zero on failure. `<service> probe <path>` instead
// checks a running one (health.Probe: Kubernetes' exec probes).
func Main(spec Spec) {
	health.ProbeMain(spec.DefaultPort)
	lifecycle.Main(func(ctx context.Context, environ []string, stdout io.Writer) error {
		return Run(ctx, spec, environ, stdout)
	})
}

// ReadModel opens the service's own database for SQL reads (dsn "" takes
// libpq's PG* variables), closed when the service stops. It returns once
// the sidecar is up: the state table is its component's, so indexes can be
// added at once.
func (d Deps) ReadModel(ctx context.Context, dsn string) (*readmodel.DB, error) {
	db, err := readmodel.Open(ctx, dsn, d.Name)
	if err != nil {
		return nil, err
	}
	d.OnStop(db.Close)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.Sidecar.WaitOutbound(ctx); err != nil {
		return nil, err
	}
	return db, nil
}
