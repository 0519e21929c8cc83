// Command gateway is QeetMart's only public entry point. It answers clients
// on port 4000 and reaches every service through its own Dapr sidecar.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/logging"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/telemetry"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

const name = "gateway"

// Config is the gateway's environment; see docs/configuration.md.
type Config struct {
	config.Common
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// BodyLimit caps request bodies, in bytes (413 above it).
	BodyLimit int `env:"BODY_LIMIT" envDefault:"1048576"`
	// HealthTimeout bounds each service's check in /health/services.
	HealthTimeout time.Duration `env:"HEALTH_TIMEOUT" envDefault:"2s"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Environ(), os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	cfg, err := config.Load[Config](environ)
	if err != nil {
		return err
	}
	if cfg.Port == 0 {
		cfg.Port = 4000
	}
	log := logging.New(stdout, cfg.LogLevel, name)
	shutdownTracing, err := telemetry.Setup(ctx, name, cfg.Version, cfg.OTLPEndpoint)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(ctx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()

	app := newServer(cfg, log, sidecar.New(cfg.DaprHTTPPort, cfg.DaprAPIToken))
	return web.Serve(ctx, app, cfg.Addr(), cfg.ShutdownTimeout, log)
}
