// Command auth is QeetMart's auth service: credentials, tokens, sessions and
// the JWKS. It runs behind its own Dapr sidecar.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/service"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/auth/api"
	"github.com/qeetmart/qeetmart/services/auth/app"
	"github.com/qeetmart/qeetmart/services/auth/domain"
	"github.com/qeetmart/qeetmart/services/auth/store"
)

// The auth state store, and the outbox component over the same table:
// writes through the second publish a revocation event when they commit.
const (
	stateStore  = "auth-store"
	outboxStore = "auth-outbox"
)

// Config is the auth service's own environment (docs/configuration.md).
type Config struct {
	Issuer      string        `env:"JWT_ISSUER" envDefault:"qeetmart-auth"`
	Audience    string        `env:"JWT_AUDIENCE" envDefault:"qeetmart"`
	AccessTTL   time.Duration `env:"AUTH_ACCESS_TTL" envDefault:"15m"`
	RefreshTTL  time.Duration `env:"AUTH_REFRESH_TTL" envDefault:"168h"`
	AbsoluteTTL time.Duration `env:"AUTH_ABSOLUTE_TTL" envDefault:"720h"`
	// Argon2id cost; never below OWASP's minimum (19 MiB, t=2, p=1).
	ArgonMemoryKiB uint32 `env:"ARGON2_MEMORY_KIB" envDefault:"19456"`
	ArgonTime      uint32 `env:"ARGON2_TIME" envDefault:"2"`
	// AdminEmail and AdminPassword, when set, make sure an admin exists.
	AdminEmail    string `env:"AUTH_ADMIN_EMAIL"`
	AdminPassword string `env:"AUTH_ADMIN_PASSWORD"`
	// DatabaseURL reaches the auth database for read-only list queries;
	// empty takes libpq's PG* variables (the launcher sets PGDATABASE).
	DatabaseURL string `env:"AUTH_DATABASE_URL"`
	// Failed logins: after this many, each further failure locks the
	// account (or the client address) for 1 s, doubling up to the max.
	AccountFailures int           `env:"AUTH_THROTTLE_ACCOUNT_FAILURES" envDefault:"5"`
	AccountMaxLock  time.Duration `env:"AUTH_THROTTLE_ACCOUNT_MAX_LOCK" envDefault:"1m"`
	AddressFailures int           `env:"AUTH_THROTTLE_IP_FAILURES" envDefault:"20"`
	AddressMaxLock  time.Duration `env:"AUTH_THROTTLE_IP_MAX_LOCK" envDefault:"15m"`
	// Password hashing runs at most HashConcurrency at once (0: one per
	// CPU), with HashQueue more waiting; beyond that, 503 with Retry-After.
	HashConcurrency int `env:"AUTH_HASH_CONCURRENCY" envDefault:"0"`
	HashQueue       int `env:"AUTH_HASH_QUEUE" envDefault:"16"`
	// KeyActivationDelay: a rotated-in key is published this long before it
	// signs; keep it above the gateway's JWKS_REFETCH_COOLDOWN.
	KeyActivationDelay time.Duration `env:"AUTH_KEY_ACTIVATION_DELAY" envDefault:"30s"`
}

func main() {
	service.Main(service.Spec{
		Name:        "auth",
		DefaultPort: 4001,
		Stores:      []string{stateStore, outboxStore},
		Routes:      setup,
	})
}

func setup(ctx context.Context, r fiber.Router, d service.Deps) error {
	cfg, err := config.Load[Config](d.Environ)
	if err != nil {
		return err
	}
	params := domain.OWASPMinimum
	params.MemoryKiB = max(cfg.ArgonMemoryKiB, params.MemoryKiB)
	params.Time = max(cfg.ArgonTime, params.Time)
	db, err := d.ReadModel(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	readModel := store.NewReadModel(db)
	auth := app.New(store.New(statestore.New(d.Sidecar, stateStore), statestore.New(d.Sidecar, outboxStore), readModel),
		domain.TokenConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, AbsoluteTTL: cfg.AbsoluteTTL},
		domain.Hasher{Params: params})
	auth.Log = d.Log
	auth.AccountThrottle.Threshold, auth.AccountThrottle.Max = cfg.AccountFailures, cfg.AccountMaxLock
	auth.AddressThrottle.Threshold, auth.AddressThrottle.Max = cfg.AddressFailures, cfg.AddressMaxLock
	auth.KeyActivationDelay = cfg.KeyActivationDelay
	auth.LimitHashing(cfg.HashConcurrency, cfg.HashQueue)
	logins := d.Metrics.Counter("auth_logins_total",
		"Logins by outcome (ok, invalid_credentials, throttled, busy, invalid, error).", "outcome")
	for _, outcome := range app.LoginOutcomes {
		logins.WithLabelValues(outcome).Add(0) // every series exists before its first count
	}
	auth.LoggedIn = func(outcome string) { logins.WithLabelValues(outcome).Inc() }
	locks := d.Metrics.Counter("auth_throttle_locks_total",
		"Failed logins that locked their account or client address for a while, by scope (account, address).", "scope")
	for _, scope := range []string{"account", "address"} {
		locks.WithLabelValues(scope).Add(0)
	}
	auth.Locked = func(scope string) { locks.WithLabelValues(scope).Inc() }
	d.Metrics.Gauge("auth_hash_queue_length", "Password checks waiting for a free core (argon2id); past AUTH_HASH_QUEUE they are refused with 503.",
		func() float64 { return float64(auth.HashWaiting()) })

	// The state store is reached through the sidecar, which is up before
	// it looks for this app; the first start makes the signing key.
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.Sidecar.WaitOutbound(waitCtx); err != nil {
		return err
	}
	if err := auth.EnsureKeys(waitCtx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if err := auth.EnsureAdmin(waitCtx, cfg.AdminEmail, cfg.AdminPassword); err != nil {
		return fmt.Errorf("admin account from AUTH_ADMIN_EMAIL: %w", err)
	}
	if err := readModel.EnsureIndexes(waitCtx); err != nil {
		return err
	}
	api.Routes(r, auth)
	return nil
}
