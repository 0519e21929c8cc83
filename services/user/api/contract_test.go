package api

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
)

// Every route the user service serves is in contracts/openapi/user.yaml,
// and every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	contract.RequireServiceServedAsDocumented(t, "../../..", "user", func(r fiber.Router) {
		Routes(r, nil)
	})
}
