// Package web holds what every QeetMart HTTP server shares: the Fiber app
// with its error handler, the one JSON error envelope, the common middleware
// and graceful serving.
package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v3"
)

// Error codes used in the envelope. Services add their own domain codes.
const (
	CodeBadRequest     = "BAD_REQUEST"
	CodeUnauthorized   = "UNAUTHORIZED"
	CodeForbidden      = "FORBIDDEN"
	CodeNotFound       = "NOT_FOUND"
	CodeMethodNotAllow = "METHOD_NOT_ALLOWED"
	CodeConflict       = "CONFLICT"
	CodeTooLarge       = "PAYLOAD_TOO_LARGE"
	CodeRateLimited    = "RATE_LIMITED"
	CodeInternal       = "INTERNAL_ERROR"
	CodeUnavailable    = "SERVICE_UNAVAILABLE"
	CodeGatewayTimeout = "GATEWAY_TIMEOUT"
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

// toError turns any error into the *Error that is answered; anything unknown
// becomes a 500 that hides its internals.
func toError(err error) (e *Error, internal bool) {
	if errors.As(err, &e) {
		return e, e.Status >= 500
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

// DecodeJSON reads the request body into v. Unknown fields are ignored;
// malformed JSON or wrong types are a 400 in the envelope.
func DecodeJSON(c fiber.Ctx, v any) error {
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return errMalformedBody.WithCause(err)
	}
	return nil
}
