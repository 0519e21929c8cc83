// Command product is QeetMart's product service: the catalog. It runs
// behind its own Dapr sidecar.
package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
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
	db, err := readmodel.Open(ctx, cfg.DatabaseURL, "product")
	if err != nil {
		return err
	}
	d.OnStop(db.Close)
	readModel := store.NewReadModel(db)
	// The lists' indexes go on the table the sidecar's component creates,
	// so the sidecar comes first.
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.Sidecar.WaitOutbound(waitCtx); err != nil {
		return err
	}
	if err := readModel.EnsureIndexes(waitCtx); err != nil {
		return err
	}
	api.Routes(r, app.New(store.New(statestore.New(d.Sidecar, stateStore), readModel)))
	return nil
}
