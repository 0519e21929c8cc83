// Package telemetry sets up OpenTelemetry tracing and joins incoming W3C
// trace context, so one trace runs client → gateway → sidecars → service.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Setup installs the global tracer provider and W3C propagator. Spans are
// exported over OTLP/gRPC when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
// exporter reads the standard OTEL_* variables, as daprd does); without it
// spans still get ids, for logs and propagation, but go nowhere. The sampler
// honours OTEL_TRACES_SAMPLER and defaults to parent-based always-on, so a
// sampled caller keeps its trace.
func Setup(ctx context.Context, service, version string, otlpEndpoint string) (shutdown func(context.Context) error, err error) {
	res := resource.NewSchemaless(
		semconv.ServiceName(service),
		semconv.ServiceVersion(version),
	)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if otlpEndpoint != "" {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}

// Start is Setup for a program's run function: the returned stop flushes
// pending spans (bounded by 5 s, even after ctx is cancelled) and logs, not
// fails, if it cannot.
func Start(ctx context.Context, service, version, otlpEndpoint string, log *slog.Logger) (stop func(), err error) {
	shutdown, err := Setup(ctx, service, version, otlpEndpoint)
	if err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}, nil
}

// headerCarrier adapts Fiber's request headers to the propagator.
type headerCarrier struct{ c fiber.Ctx }

func (h headerCarrier) Get(key string) string { return h.c.Get(key) }
func (h headerCarrier) Set(key, value string) { h.c.Request().Header.Set(key, value) }
func (h headerCarrier) Keys() []string {
	var keys []string
	for k := range h.c.Request().Header.All() {
		keys = append(keys, string(k))
	}
	return keys
}

// responseCarrier puts the propagator's headers on the answer.
type responseCarrier struct{ c fiber.Ctx }

func (h responseCarrier) Get(key string) string { return string(h.c.Response().Header.Peek(key)) }
func (h responseCarrier) Set(key, value string) { h.c.Set(key, value) }
func (h responseCarrier) Keys() []string        { return nil }

// Middleware must run outside web.AccessLog (which writes error responses).
//
// Middleware continues the caller's trace (or starts one) with a server span
// per request and puts it in the request's context for outbound calls.
func Middleware(service string) fiber.Handler {
	tracer := otel.Tracer(service)
	prop := otel.GetTextMapPropagator()
	return func(c fiber.Ctx) error {
		ctx := prop.Extract(c.Context(), headerCarrier{c})
		ctx, span := tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(c.Method()),
				semconv.URLPath(c.Path()),
			))
		defer span.End()
		// Every answer names its trace, the errors this app makes itself
		// included, so a person holding any response can find its trace.
		propagation.TraceContext{}.Inject(ctx, responseCarrier{c})
		c.SetContext(ctx)
		err := c.Next()
		span.SetName(c.Method() + " " + c.Route().Path)
		// The access log inside this middleware has already turned any
		// error into the response, so the status here is final.
		status := c.Response().StatusCode()
		span.SetAttributes(semconv.HTTPResponseStatusCode(status), attribute.String("http.route", c.Route().Path))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		return err
	}
}
