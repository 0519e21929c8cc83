package main

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/health"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// upstreams are the app-ids the gateway fronts, in the order /health/services
// reports them.
var upstreams = []string{"auth", "user", "product", "inventory"}

// newServer wires the gateway's routes; all of them are listed here.
func newServer(cfg Config, log *slog.Logger, dapr *sidecar.Client) *fiber.App {
	app := web.NewApp(web.AppOptions{Name: name, Log: log, BodyLimit: cfg.BodyLimit})
	app.Get("/health", health.Live(name))
	app.Get("/health/services", servicesHealth(dapr, upstreams, cfg.HealthTimeout))
	app.Get("/info", info(cfg.Version))
	return app
}

func info(version string) fiber.Handler {
	return func(c fiber.Ctx) error {
		return c.JSON(fiber.Map{"name": "QeetMart API Gateway", "version": version, "timestamp": time.Now().UTC()})
	}
}
