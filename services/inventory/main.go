// Command inventory is QeetMart's inventory service: stock and the
// reservations that hold it. It runs behind its own Dapr sidecar.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/service"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/inventory/api"
	"github.com/qeetmart/qeetmart/services/inventory/app"
	"github.com/qeetmart/qeetmart/services/inventory/store"
)

// The inventory's state stores (components/statestore-inventory.yaml,
// statestore-inventory-cache.yaml), and where the product service's events
// arrive (components/pubsub.yaml, docs/events.md).
const (
	stateStore    = "inventory-store"
	cacheStore    = "inventory-cache"
	eventsPubsub  = "events"
	productsTopic = "products"
	stockTopic    = "stock"
	// allotmentReturnInterval: how often unused allotted units of
	// products without demand go back to their records.
	allotmentReturnInterval = 250 * time.Millisecond
)

// Config is the inventory service's own environment (docs/configuration.md).
type Config struct {
	// DatabaseURL reaches the inventory database for the SQL reads (an
	// order's reservations, the expiry sweep); empty takes libpq's PG*
	// variables (the launcher sets PGDATABASE).
	DatabaseURL string `env:"INVENTORY_DATABASE_URL"`
	// ReservationTTL is how long a reservation holds its stock.
	ReservationTTL time.Duration `env:"RESERVATION_TTL" envDefault:"10m"`
	// SweepInterval is how often expired reservations are ended.
	SweepInterval time.Duration `env:"EXPIRATION_POLL_INTERVAL" envDefault:"1s"`
	// StockCacheTTL is how old a shopper's view of availability may be
	// (Redis, inventory-cache); 0 reads PostgreSQL every time.
	StockCacheTTL time.Duration `env:"STOCK_CACHE_TTL" envDefault:"1s"`
	// EventRelayInterval is how often pending stock events are published.
	EventRelayInterval time.Duration `env:"STOCK_EVENT_POLL_INTERVAL" envDefault:"500ms"`
	// AllotmentMax is the most units of a product in demand a replica
	// takes ahead from its record (docs/inventory.md); 0 holds every
	// reservation on the records.
	AllotmentMax int64 `env:"ALLOTMENT_MAX" envDefault:"256"`
	// AllotmentFromRate: reservations a second at a replica from which it
	// takes allotments; below it every reservation is held on its record.
	AllotmentFromRate int64 `env:"ALLOTMENT_FROM_RATE" envDefault:"500"`
	// AllotmentLeaseTimeout: a replica's allotment not renewed for this
	// long is taken back (its units given back) by the sweep.
	AllotmentLeaseTimeout time.Duration `env:"ALLOTMENT_LEASE_TIMEOUT" envDefault:"10s"`
}

func main() {
	service.Main(service.Spec{
		Name:        "inventory",
		DefaultPort: 4004,
		Stores:      []string{stateStore, cacheStore},
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
	opts := app.Options{ReservationTTL: cfg.ReservationTTL, SweepInterval: cfg.SweepInterval,
		AllotMost: cfg.AllotmentMax, AllotFrom: cfg.AllotmentFromRate, LeaseTimeout: cfg.AllotmentLeaseTimeout}
	if cfg.StockCacheTTL > 0 {
		opts.Cache, opts.CacheTTL = store.NewCache(statestore.New(d.Sidecar, cacheStore)), cfg.StockCacheTTL
		opts.CacheFailed = func(err error) { d.Log.Warn("stock cache passed by", "err", err) }
	}
	opts.Observer = observer(d)
	st := store.New(statestore.New(d.Sidecar, stateStore), readModel)
	inv, err := app.New(st, opts)
	if err != nil {
		return err
	}

	// The writer outlives the service's context: requests still draining
	// after SIGTERM need it. It stops once the server has drained.
	writing, stopWriting := context.WithCancel(context.WithoutCancel(ctx))
	written := make(chan struct{})
	go func() { defer close(written); inv.Run(writing) }()
	d.OnStop(func() { stopWriting(); <-written })
	go func() {
		if movePagelessReservations(ctx, st, cfg.SweepInterval, d.Log) {
			inv.Sweep(ctx, d.Log)
		}
	}()
	go inv.ReturnIdle(ctx, allotmentReturnInterval, func(err error) { d.Log.Warn("giving back idle allotments", "err", err) })
	go inv.Relay(ctx, store.NewPublisher(d.Sidecar, eventsPubsub, stockTopic), cfg.EventRelayInterval, d.Log)

	api.Routes(r, inv)
	api.Catalog(r, eventsPubsub, productsTopic, inv, d.Log)
	return nil
}

// movePagelessReservations moves a store's reservations from before pages
// into pages (once: after that there are none), trying again every
// interval while the sidecar cannot do it yet; false if ctx ended first.
// The sweep starts after it, so reservations that fell due meanwhile end.
func movePagelessReservations(ctx context.Context, st *store.Store, interval time.Duration, log *slog.Logger) bool {
	for {
		n, err := st.MovePagelessReservations(ctx)
		if err == nil {
			if n > 0 {
				log.Info("moved reservations stored before pages into pages", "reservations", n)
			}
			return true
		}
		log.Warn("moving reservations into pages; trying again", "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(interval):
		}
	}
}

// observer exports what the inventory's writes do (docs/observability.md).
func observer(d service.Deps) app.Observer {
	operations := d.Metrics.Counter("inventory_operations_total",
		"Reserve, release, deduct and expire, by outcome (ok, replayed, insufficient_stock, not_found, refused, conflict, invalid, error).",
		"operation", "outcome")
	batches := d.Metrics.Histogram("inventory_batch_size", "Commands the ledger committed in one state transaction.",
		[]float64{1, 2, 4, 8, 16, 32, 64, 128})
	violations := d.Metrics.Counter("inventory_books_violations_total",
		"Batches refused because a stock record would have broken the books (a negative count): must stay 0.")
	violations.WithLabelValues().Add(0) // exported from the start, at 0
	batches.WithLabelValues()
	sweeps := d.Metrics.Counter("inventory_expiry_sweeps_total",
		"Expiry sweeps by result (ok, failed); a sweep that fails is tried again at the next interval.", "result")
	swept := d.Metrics.Counter("inventory_expiry_swept_total", "Reservations the expiry sweeps found due.")
	for _, result := range []string{"ok", "failed"} {
		sweeps.WithLabelValues(result).Add(0)
	}
	swept.WithLabelValues().Add(0)
	reclaimed := d.Metrics.Counter("inventory_allotment_reclaimed_units_total",
		"Units the sweep gave back from allotments whose replica stopped renewing their lease (crashed or hung).")
	reclaimed.WithLabelValues().Add(0)
	for _, op := range []string{"reserve", "release", "deduct", "expire"} {
		for _, outcome := range app.Outcomes {
			operations.WithLabelValues(op, outcome).Add(0) // every series exists before its first count
		}
	}
	return app.Observer{
		Settled:   func(operation, outcome string) { operations.WithLabelValues(operation, outcome).Inc() },
		Batched:   func(size int) { batches.WithLabelValues().Observe(float64(size)) },
		Violated:  func(string) { violations.WithLabelValues().Inc() },
		Reclaimed: func(units int64) { reclaimed.WithLabelValues().Add(float64(units)) },
		Swept: func(due int, err error) {
			result := "ok"
			if err != nil {
				result = "failed"
			}
			sweeps.WithLabelValues(result).Inc()
			swept.WithLabelValues().Add(float64(due))
		},
	}
}
