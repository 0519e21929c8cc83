package api

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
)

// Every route the inventory service serves is in contracts/openapi/inventory.yaml,
// and every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	contract.RequireServiceServedAsDocumented(t, "../../..", "inventory", func(r fiber.Router) {
		Routes(r, nil)
		Catalog(r, "events", "products", nil, nil)
	})
}
