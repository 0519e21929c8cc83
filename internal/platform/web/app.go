package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"

	"github.com/qeetmart/qeetmart/internal/platform/telemetry"
)

// AppOptions shapes a new Fiber app.
type AppOptions struct {
	Name      string
	Log       *slog.Logger
	BodyLimit int // bytes; 0 means Fiber's default (4 MiB)
	// ReadBufferSize bounds the request line and headers (431 above it);
	// 0 means Fiber's default (4 KiB).
	ReadBufferSize int
	// StreamRequestBody hands handlers the body as a stream instead of
	// buffering it first (the gateway's proxy).
	StreamRequestBody bool
}

// NewApp returns a Fiber app whose every error, Fiber's own included, is
// answered with the one JSON envelope, and whose panics become 500s.
// Middleware order: correlation id first (so every answer carries it), the
// trace span, the access log (which also writes error responses, so the
// span and the log see the final status), then panic recovery closest to
// the handlers.
func NewApp(o AppOptions) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:           o.Name,
		BodyLimit:         o.BodyLimit,
		ReadBufferSize:    o.ReadBufferSize,
		StreamRequestBody: o.StreamRequestBody,
		ErrorHandler:      errorHandler(o.Log),
	})
	app.Use(Correlation(), telemetry.Middleware(o.Name), AccessLog(o.Log), recover.New())
	return app
}

func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c fiber.Ctx, err error) error {
		e, internal := toError(err)
		if internal {
			log.Error("request failed", "err", err.Error(), "path", c.Path(), "correlationId", CorrelationID(c))
		}
		return Fail(c, e)
	}
}

// Serve serves app on addr until ctx ends, then lets in-flight requests
// finish for at most drain before it returns.
func Serve(ctx context.Context, app *fiber.App, addr string, drain time.Duration, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := app.ShutdownWithContext(shutdownCtx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
