// Command product is QeetMart's product service: the catalog. It runs
// behind its own Dapr sidecar.
package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/service"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/product/api"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/store"
)

// The product state store, and the outbox component over the same table
// (components/statestore-product.yaml, statestore-product-outbox.yaml).
const (
	stateStore  = "product-store"
	outboxStore = "product-outbox"
)

// Config is the product service's own environment (docs/configuration.md).
type Config struct {
	// DatabaseURL reaches the product database for the read-only lists;
	// empty takes libpq's PG* variables (the launcher sets PGDATABASE).
	DatabaseURL string `env:"PRODUCT_DATABASE_URL"`
	// CacheTTL is how long a replica serves a product or category it read
	// before reading it again: the bound on how stale a read can be after
	// a write on another replica (docs/product.md#caching). 0 turns the
	// cache off.
	CacheTTL  time.Duration `env:"PRODUCT_CACHE_TTL" envDefault:"1s"`
	CacheSize int           `env:"PRODUCT_CACHE_SIZE" envDefault:"20000"`
	// MaxAge is what shoppers' answers allow browsers and CDNs to reuse
	// without asking (Cache-Control max-age); admins always revalidate.
	MaxAge time.Duration `env:"PRODUCT_HTTP_MAX_AGE" envDefault:"5s"`
	// WriteConcurrency bounds the catalog writes a replica runs at once;
	// WriteQueue more wait (until their deadline), the rest get 503 at once.
	// Each write's upserts become outbox messages its sidecar works on for
	// a second or more after it (docs/events.md), so past what the sidecar
	// sustains, writes must be shed rather than queued inside it.
	WriteConcurrency int `env:"PRODUCT_WRITE_CONCURRENCY" envDefault:"4"`
	WriteQueue       int `env:"PRODUCT_WRITE_QUEUE" envDefault:"64"`
	// RelayLagLimit is how far the outbox relay may fall behind the writes
	// (from a write to its change reaching this service; about 1 s when
	// idle) before writes are refused with 503 until it catches up. 0
	// never refuses.
	RelayLagLimit time.Duration `env:"PRODUCT_RELAY_LAG_LIMIT" envDefault:"3s"`
}

func main() {
	service.Main(service.Spec{
		Name:        "product",
		DefaultPort: 4003,
		Stores:      []string{stateStore, outboxStore},
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
	catalog := app.New(store.New(statestore.New(d.Sidecar, stateStore), statestore.New(d.Sidecar, outboxStore), readModel),
		app.CacheOptions{TTL: cfg.CacheTTL, Size: cfg.CacheSize})
	lag := admission.NewLag(cfg.RelayLagLimit)
	api.Routes(r, catalog, cfg.MaxAge, admission.New(cfg.WriteConcurrency, cfg.WriteQueue).RefuseWhile(lag.Behind))
	api.Relay(r, store.RelayPubsub, store.RelayTopic, store.NewRelay(d.Sidecar), lag, d.Log)
	return nil
}
