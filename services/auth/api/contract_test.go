package api

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
)

// Every route the auth service serves is in contracts/openapi/auth.yaml,
// and every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	contract.RequireServiceServedAsDocumented(t, "../../..", "auth", func(r fiber.Router) {
		Routes(r, nil)
	})
}
