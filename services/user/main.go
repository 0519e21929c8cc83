// Command user is QeetMart's user service: profiles and their addresses. It
// runs behind its own Dapr sidecar.
package main

import (
	"context"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/service"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/user/api"
	"github.com/qeetmart/qeetmart/services/user/app"
	"github.com/qeetmart/qeetmart/services/user/store"
)

// stateStore is the user state store (components/statestore-user.yaml).
const stateStore = "user-store"

// Config is the user service's own environment (docs/configuration.md).
type Config struct {
	// DatabaseURL reaches the user database for the read-only admin
	// listing; empty takes libpq's PG* variables (the launcher sets
	// PGDATABASE).
	DatabaseURL string `env:"USER_DATABASE_URL"`
}

func main() {
	service.Main(service.Spec{
		Name:        "user",
		DefaultPort: 4002,
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
