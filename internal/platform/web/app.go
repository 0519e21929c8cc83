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
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/qeetmart/qeetmart/internal/platform/config"
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
	// UnescapePath decodes the path once before routing, so handlers see
	// decoded parameters (a service: the gateway has already refused
	// encoded slashes and dot segments). Not for the gateway, which
	// canonicalises the raw path itself.
	UnescapePath bool
	// Timeouts bound each connection; zero fields fall back to fasthttp's
	// defaults (none).
	Timeouts config.Timeouts
	// Headers, when set, adds the headers every answer carries (the
	// gateway's security headers). Error answers get them too, including
	// answers to requests no middleware saw (CONNECT host:port, GET *).
	Headers func(fiber.Ctx)
}

// NewApp returns a Fiber app whose every error, Fiber's own included, is
// answered with the one JSON envelope, and whose panics become 500s.
// Middleware order: correlation id first (so every answer carries it), the
// common headers (AppOptions.Headers), the trace span, the access log
// (which also writes error responses, so the span and the log see the final
// status), panic recovery, then the refusal of compressed bodies closest to
// the handlers.
func NewApp(o AppOptions) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:           o.Name,
		BodyLimit:         o.BodyLimit,
		ReadBufferSize:    o.ReadBufferSize,
		StreamRequestBody: o.StreamRequestBody,
		UnescapePath:      o.UnescapePath,
		// Every string a handler gets (parameters, queries, headers) is its
		// own. By default Fiber's point into buffers fasthttp reuses for the
		// next request, so whatever keeps one (a cache key, an event) sees
		// it change later: the product cache once missed a forget that way
		// and served a deleted product. The copies cost a few small
		// allocations per request, far below a sidecar hop.
		Immutable: true,
		// fasthttp's ReadTimeout runs from the first byte of a request to
		// the end of its headers; HeaderReceived below then gives the body
		// its own deadline. So a slowloris client is cut off after
		// ReadHeader, while an honest large upload gets Read.
		ReadTimeout:  o.Timeouts.ReadHeader,
		WriteTimeout: o.Timeouts.Write,
		IdleTimeout:  o.Timeouts.Idle,
		ErrorHandler: errorHandler(o.Log, o.Headers),
	})
	if read := o.Timeouts.Read; read > 0 {
		app.Server().HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: read}
		}
	}
	app.Use(Correlation())
	if o.Headers != nil {
		app.Use(func(c fiber.Ctx) error { o.Headers(c); return c.Next() })
	}
	app.Use(telemetry.Middleware(o.Name), AccessLog(o.Log), recover.New(), PlainBodies())
	return app
}

func errorHandler(log *slog.Logger, headers func(fiber.Ctx)) fiber.ErrorHandler {
	return func(c fiber.Ctx, err error) error {
		if CorrelationID(c) == "" {
			// No middleware ran (a request-target the router cannot place):
			// the answer still carries an id and the common headers.
			setCorrelationID(c, uuid.NewString())
			if headers != nil {
				headers(c)
			}
		}
		if c.Request().IsBodyStream() {
			// Refused before its body was read (401, 413, 415, ...): the
			// rest of it is still on the connection, where it would be
			// parsed as the next request.
			c.Response().SetConnectionClose()
		}
		e, internal := toError(err)
		if internal {
			log.Error("request failed", append([]any{"err", err.Error(), "path", c.Path()}, TraceAttrs(c)...)...)
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
