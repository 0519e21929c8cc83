package api

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/service"
)

// Every route the product service serves is in contracts/openapi/product.yaml,
// and every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	app := fiber.New()
	service.Probes(app, "product", time.Second)
	Routes(app, nil, time.Second, admission.New(1, 1))
	contract.RequireServedAsDocumented(t, "../../..", "product", app)
}
