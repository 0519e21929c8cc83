package api

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
	"github.com/qeetmart/qeetmart/internal/platform/service"
)

// Every route the inventory service serves is in contracts/openapi/inventory.yaml, and
// every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	app := fiber.New()
	service.Probes(app, "inventory", time.Second)
	Routes(app, nil)
	Catalog(app, "events", "products", nil, nil)
	contract.RequireServedAsDocumented(t, "../../..", "inventory", app)
}
