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

const stateStore = "auth-store"

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
}

func main() {
	service.Main(service.Spec{
		Name:        "auth",
		DefaultPort: 4001,
		Stores:      []string{stateStore},
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
	auth := app.New(store.New(statestore.New(d.Sidecar, stateStore)),
		domain.TokenConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, AbsoluteTTL: cfg.AbsoluteTTL},
		domain.Hasher{Params: params})

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
	api.Routes(r, auth)
	return nil
}
