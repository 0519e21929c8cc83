package api

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/contract"
	"github.com/qeetmart/qeetmart/internal/platform/service"
)

// Every route the auth service serves is in contracts/openapi/auth.yaml, and
// every operation there is served.
func TestServedAsDocumented(t *testing.T) {
	app := fiber.New()
	service.Probes(app, "auth", time.Second)
	Routes(app, nil)
	contract.RequireServedAsDocumented(t, "../../..", "auth", app)
}
