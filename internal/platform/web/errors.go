// Package web holds what every QeetMart HTTP server shares: the Fiber app
// with its error handler, the one JSON error envelope, the common middleware
// and graceful serving.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// Error codes used in the envelope. Services add their own domain codes.
const (
	CodeBadRequest       = "BAD_REQUEST"
	CodeUnauthorized     = "UNAUTHORIZED"
	CodeForbidden        = "FORBIDDEN"
	CodeNotFound         = "NOT_FOUND"
	CodeMethodNotAllow   = "METHOD_NOT_ALLOWED"
	CodeConflict         = "CONFLICT"
	CodeTooLarge         = "PAYLOAD_TOO_LARGE"
	CodeRateLimited      = "RATE_LIMITED"
	CodeInternal         = "INTERNAL_ERROR"
	CodeUnavailable      = "SERVICE_UNAVAILABLE"
	CodeBusy             = "SERVICE_BUSY"
	CodeGatewayTimeout   = "GATEWAY_TIMEOUT"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
)

// Envelope is the one error body: {"success":false,"error":{...}}.
type Envelope struct {
	Success bool        `json:"success"`
	Error   ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	Details       any    `json:"details,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// Error is an error that knows how it is answered over HTTP. Handlers return
// it; the app's error handler writes the envelope.
type Error struct {
	Status  int
	Code    string
	Message string
	Details any
	Cause   error // logged, never answered
	// RetryAfter, when set, is sent as Retry-After (whole seconds, rounded
	// up): with 429 and 503, when the client may try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// WithCause returns a copy of e that records why, for the logs.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.Cause = err
	return &c
}

// WithRetryAfter returns a copy of e that tells the client when to retry.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// NewError builds an *Error.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// WithDetails returns a copy of e carrying details (field errors and the like).
func (e *Error) WithDetails(details any) *Error {
	c := *e
	c.Details = details
	return &c
}

// Fail writes the envelope for status, code and message.
func Fail(c fiber.Ctx, e *Error) error {
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	return c.Status(e.Status).JSON(Envelope{Error: ErrorDetail{
		Code:          e.Code,
		Message:       e.Message,
		Details:       e.Details,
		CorrelationID: CorrelationID(c),
	}})
}

// fiberErrors maps the errors Fiber itself raises to what we answer.
var fiberErrors = map[int]*Error{
	http.StatusBadRequest:                  NewError(http.StatusBadRequest, CodeBadRequest, "Malformed request"),
	http.StatusNotFound:                    NewError(http.StatusNotFound, CodeNotFound, "Route not found"),
	http.StatusMethodNotAllowed:            NewError(http.StatusMethodNotAllowed, CodeMethodNotAllow, "Method not allowed"),
	http.StatusRequestEntityTooLarge:       NewError(http.StatusRequestEntityTooLarge, CodeTooLarge, "Request body too large"),
	http.StatusRequestHeaderFieldsTooLarge: NewError(http.StatusRequestHeaderFieldsTooLarge, CodeBadRequest, "Request headers too large"),
}

var errOutOfTime = NewError(http.StatusServiceUnavailable, CodeUnavailable, "The request could not be completed in time; try again").WithRetryAfter(time.Second)

// toError turns any error into the *Error that is answered; anything unknown
// becomes a 500 that hides its internals.
func toError(err error) (e *Error, internal bool) {
	var fields validation.Errors
	if errors.As(err, &fields) {
		return NewError(http.StatusBadRequest, CodeValidation, "Validation failed").WithDetails(map[string]string(fields)), false
	}
	if errors.As(err, &e) {
		return e, e.Status >= 500
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The request's deadline (Deadline) ran out in a sidecar call.
		return errOutOfTime, true
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if known, ok := fiberErrors[fe.Code]; ok {
			return known, false
		}
		if fe.Code < 500 {
			return NewError(fe.Code, CodeBadRequest, http.StatusText(fe.Code)), false
		}
	}
	return NewError(http.StatusInternalServerError, CodeInternal, "internal server error"), true
}

// CodeValidation is a request whose fields break the rules; details name them.
const CodeValidation = "VALIDATION_FAILED"

var errMalformedBody = NewError(http.StatusBadRequest, CodeBadRequest, "Malformed request body")

// DecodeJSON reads the request body into v (see Decode).
func DecodeJSON(c fiber.Ctx, v any) error {
	// BodyRaw: never a decompressed body (PlainBodies refuses those too).
	return Decode(c.BodyRaw(), v)
}

// Decode parses a JSON request body into v, the one way every service
// does. Unknown fields are ignored. An empty or malformed body, one that is
// not the JSON type v wants, or a field of the wrong type is a 400 that says
// which (VALIDATION_FAILED with the field for a wrong type).
func Decode(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return errMalformedBody.WithDetails("the body is empty; send a JSON object")
	}
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return errMalformedBody.WithDetails("the body must be a JSON " + jsonKind(typeErr.Type)).WithCause(err)
		}
		return NewError(http.StatusBadRequest, CodeValidation, "Validation failed").
			WithDetails(map[string]string{typeErr.Field: typeErr.Field + " must be " + article(jsonKind(typeErr.Type))}).WithCause(err)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return errMalformedBody.WithDetails(fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)).WithCause(err)
	}
	return errMalformedBody.WithCause(err)
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[json.Number]() {
		return "number"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "object"
	}
}

func article(kind string) string {
	if kind == "array" || kind == "object" {
		return "an " + kind
	}
	return "a " + kind
}
