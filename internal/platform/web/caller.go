package web

import (
	"net/http"

	"github.com/gofiber/fiber/v3"
)

// Caller headers carry the caller the gateway verified to a service. Only
// the gateway sets them (it drops any copy a client sends), and only the
// gateway's sidecar may call a service, so a service can trust them.
const (
	HeaderUserID    = "X-User-Id"
	HeaderUserRole  = "X-User-Role"
	HeaderUserEmail = "X-User-Email"
	HeaderSessionID = "X-Session-Id"
)

// Caller is who the gateway verified, as its caller headers name them.
type Caller struct {
	UserID, Role, Email, SessionID string
}

// ErrUnauthenticated answers a request that reached a service without a
// verified caller.
var ErrUnauthenticated = NewError(http.StatusUnauthorized, CodeUnauthorized, "Authentication required")

// CallerOf reads the caller headers; without a user id there is no caller.
func CallerOf(c fiber.Ctx) (Caller, error) {
	who := Caller{UserID: c.Get(HeaderUserID), Role: c.Get(HeaderUserRole), Email: c.Get(HeaderUserEmail), SessionID: c.Get(HeaderSessionID)}
	if who.UserID == "" {
		return Caller{}, ErrUnauthenticated
	}
	return who, nil
}

// Message is the {"message"} answer of a command that has nothing else to
// say (the original's ApiResponse).
type Message struct {
	Message string `json:"message"`
}
