package api

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
	"github.com/qeetmart/qeetmart/internal/platform/admission"
)

// Every route the product service serves is in contracts/openapi/product.yaml,
// and every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	contract.RequireServiceServedAsDocumented(t, "../../..", "product", func(r fiber.Router) {
		Routes(r, nil, time.Second, admission.New(1, 1))
	})
}
