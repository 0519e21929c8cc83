// Command gateway is QeetMart's only public entry point. It answers clients
// on port 4000 and reaches every service through its own Dapr sidecar.
package main

import (
	"context"
	"io"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/lifecycle"
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

func main() { lifecycle.Main(run) }

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	cfg, err := config.Load[Config](environ)
	if err != nil {
		return err
	}
	if cfg.Port == 0 {
		cfg.Port = 4000
	}
	log := logging.New(stdout, cfg.LogLevel, name)
	stopTracing, err := telemetry.Start(ctx, name, cfg.Version, cfg.OTLPEndpoint, log)
	if err != nil {
		return err
	}
	defer stopTracing()

	app := newServer(cfg, log, sidecar.New(cfg.DaprHTTPPort, cfg.DaprAPIToken))
	return web.Serve(ctx, app, cfg.Addr(), cfg.ShutdownTimeout, log)
}
