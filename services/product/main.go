// Command product is QeetMart's product service: the catalog. It runs
// behind its own Dapr sidecar.
package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/outbox"
	"github.com/qeetmart/qeetmart/internal/platform/service"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/product/api"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/store"
)

// The product state store (components/statestore-product.yaml).
const stateStore = "product-store"

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
	// WriteQueue more wait (until their deadline), the rest get 503 at once,
	// so that overload is shed rather than queued inside the sidecar.
	WriteConcurrency int `env:"PRODUCT_WRITE_CONCURRENCY" envDefault:"4"`
	WriteQueue       int `env:"PRODUCT_WRITE_QUEUE" envDefault:"64"`
	// EventPollInterval is how often the relay publishes pending events,
	// at most EventBatch at a time: its capacity (500/s by default; a
	// write makes one event).
	EventPollInterval time.Duration `env:"PRODUCT_EVENT_POLL_INTERVAL" envDefault:"200ms"`
	EventBatch        int           `env:"PRODUCT_EVENT_BATCH" envDefault:"100"`
	// RelayLagLimit is how old the oldest unpublished event may grow while
	// the relay works through a backlog before writes are refused with 503
	// until it catches up. 0 never refuses.
	RelayLagLimit time.Duration `env:"PRODUCT_RELAY_LAG_LIMIT" envDefault:"3s"`
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
	st := store.New(statestore.New(d.Sidecar, stateStore), readModel)
	lookups := d.Metrics.Counter("product_cache_lookups_total", "Catalog reads the in-process cache answered (hit) or passed to the store (miss), by kind.", "kind", "result")
	catalog := app.New(st, app.CacheOptions{TTL: cfg.CacheTTL, Size: cfg.CacheSize, Looked: func(kind string) func(hit bool) {
		hits, misses := lookups.WithLabelValues(kind, "hit"), lookups.WithLabelValues(kind, "miss")
		return func(hit bool) {
			if hit {
				hits.Inc()
			} else {
				misses.Inc()
			}
		}
	}})
	lag := admission.NewLag(cfg.RelayLagLimit)
	d.Metrics.Gauge("product_events_backlog_age_seconds",
		"Age of the oldest product event the relay had not yet published at its last pass (0: none); writes wait past PRODUCT_RELAY_LAG_LIMIT.",
		func() float64 { return lag.Age().Seconds() })
	relay := outbox.Relay[app.Event]{Source: st.Outbox(), Publish: store.NewPublisher(d.Sidecar).Publish,
		Batch: cfg.EventBatch, OccurredAt: func(e app.Event) time.Time { return e.OccurredAt }, Origin: store.Origin, Backlog: lag.Pending}
	go relay.Run(ctx, cfg.EventPollInterval, d.Log)
	api.Routes(r, catalog, cfg.MaxAge, admission.New(cfg.WriteConcurrency, cfg.WriteQueue).RefuseWhile(lag.Behind))
	return nil
}
