package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
)

// HeaderCorrelationID carries the id that ties one client request to every
// log line and hop it causes.
const HeaderCorrelationID = "X-Correlation-Id"

// HeaderRequestID is the same id under the name many proxies use.
const HeaderRequestID = "X-Request-Id"

// HeaderDaprAPIToken is the header in which daprd presents APP_API_TOKEN.
const HeaderDaprAPIToken = "dapr-api-token"

const correlationKey = "correlationId"

// maxCorrelationLen bounds a client-chosen id, as the original gateway did.
const maxCorrelationLen = 128

// Correlation takes a safe X-Correlation-Id from the request or makes one,
// keeps it for handlers and logs, and echoes it on the response.
func Correlation() fiber.Handler {
	return func(c fiber.Ctx) error {
		id := SanitizeCorrelationID(c.Get(HeaderCorrelationID))
		if id == "" {
			id = uuid.NewString()
		}
		setCorrelationID(c, id)
		return c.Next()
	}
}

func setCorrelationID(c fiber.Ctx, id string) {
	c.Locals(correlationKey, id)
	c.Set(HeaderCorrelationID, id)
}

// SanitizeCorrelationID trims id and returns it if it is at most 128
// characters of [A-Za-z0-9._:-]; otherwise "" so that a new one is made.
// Anything else could smuggle text into logs or headers.
func SanitizeCorrelationID(id string) string {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > maxCorrelationLen {
		return ""
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return ""
		}
	}
	return id
}

// CorrelationID returns the request's correlation id ("" before Correlation ran).
func CorrelationID(c fiber.Ctx) string {
	id, _ := c.Locals(correlationKey).(string)
	return id
}

// AppToken refuses every request that does not carry the sidecar's app token,
// so that only the program's own daprd can call it. Paths in exempt (liveness)
// are served to anyone who can reach the loopback port.
func AppToken(token string, exempt ...string) fiber.Handler {
	want := []byte(token)
	return func(c fiber.Ctx) error {
		for _, p := range exempt {
			if c.Path() == p {
				return c.Next()
			}
		}
		got := []byte(c.Get(HeaderDaprAPIToken))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return NewError(http.StatusUnauthorized, CodeUnauthorized, "Calls must come through the Dapr sidecar")
		}
		return c.Next()
	}
}

// Answer writes err (if any) as the response, through the app's error
// handler, for middleware that must see the final status. Later
// middleware then sees no error.
func Answer(c fiber.Ctx, err error) {
	if err == nil {
		return
	}
	if herr := c.App().ErrorHandler(c, err); herr != nil {
		_ = c.SendStatus(http.StatusInternalServerError)
	}
}

// TraceAttrs are what a log line about request c carries so that it leads
// to the request's trace: correlationId, and traceId and spanId (the
// service's server span) when the request is traced.
func TraceAttrs(c fiber.Ctx) []any {
	attrs := []any{"correlationId", CorrelationID(c)}
	if sc := trace.SpanContextFromContext(c.Context()); sc.HasTraceID() {
		attrs = append(attrs, "traceId", sc.TraceID().String(), "spanId", sc.SpanID().String())
	}
	return attrs
}

// AccessLog writes one JSON line per request, after the error handler has
// chosen the status.
func AccessLog(log *slog.Logger) fiber.Handler {
	return func(c fiber.Ctx) error {
		start := time.Now()
		// Answer any error now, so the line below logs the status the
		// client really gets.
		Answer(c, c.Next())
		route := c.Route().Path
		attrs := []any{
			"method", c.Method(),
			"path", c.Path(),
			"route", route,
			"status", c.Response().StatusCode(),
			"latencyMs", float64(time.Since(start).Microseconds()) / 1000,
		}
		log.Info("request", append(attrs, TraceAttrs(c)...)...)
		return nil
	}
}

// PlainBodies refuses request bodies sent with a Content-Encoding (415):
// Fiber would inflate them in full before any size limit applies (97 KB of
// gzip is 100 MB parsed), and no client of ours needs to compress uploads.
func PlainBodies() fiber.Handler {
	return func(c fiber.Ctx) error {
		if ce := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); ce != "" && !strings.EqualFold(ce, "identity") {
			return errEncodedBody
		}
		return c.Next()
	}
}

var errEncodedBody = NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Request bodies must not be compressed (no Content-Encoding)")

// Deadline gives each request's context a deadline, so every sidecar call
// a handler makes gives up by then.
func Deadline(d time.Duration) fiber.Handler {
	return func(c fiber.Ctx) error {
		if d <= 0 {
			return c.Next()
		}
		ctx, cancel := context.WithTimeout(c.Context(), d)
		defer cancel()
		c.SetContext(ctx)
		return c.Next()
	}
}

// Admit runs the rest of the chain in one of g's slots (admission.Gate):
// past the gate's queue, or when the request's deadline passes while it
// waits, the answer is 503 SERVICE_BUSY with Retry-After, before any work
// is done. For work whose cost grows faster than its rate (writes whose
// sidecar work outlives them), so that overload sheds instead of queueing
// until everything times out.
func Admit(g *admission.Gate, what string) fiber.Handler {
	busy := NewError(http.StatusServiceUnavailable, CodeBusy, "Too many "+what+" in progress; try again shortly").WithRetryAfter(time.Second)
	return func(c fiber.Ctx) error {
		err := g.Run(c.Context(), c.Next)
		if errors.Is(err, admission.ErrBusy) {
			return busy
		}
		return err
	}
}
