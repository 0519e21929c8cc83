// Command product is QeetMart's product service: the catalog. It runs
// behind its own Dapr sidecar.
package main

import (
	"context"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/service"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/product/api"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/store"
)

// stateStore is the product state store (components/statestore-product.yaml).
const stateStore = "product-store"

// Config is the product service's own environment (docs/configuration.md).
type Config struct {
	// DatabaseURL reaches the product database for the read-only lists;
	// empty takes libpq's PG* variables (the launcher sets PGDATABASE).
	DatabaseURL string `env:"PRODUCT_DATABASE_URL"`
}

func main() {
	service.Main(service.Spec{
		Name:        "product",
		DefaultPort: 4003,
		Stores:      []string{stateStore},
		Routes:      setup,
	})
}

func setup(ctx context.Context, r fiber.Router, d service.Deps) error {
	cfg, err := config.Load[Config](d.Environ)
	if err != nil {
		return err
	}
	db, err := d.ReadModel(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	readModel := store.NewReadModel(db)
	if err := readModel.EnsureIndexes(ctx); err != nil {
		return err
	}
	api.Routes(r, app.New(store.New(statestore.New(d.Sidecar, stateStore), readModel)))
	return nil
}
