// Package config loads a program's settings from environment variables.
//
// Every program embeds Common and adds its own fields; defaults live in the
// struct tags so that `go doc` shows them, and docs/configuration.md lists them.
package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Common holds the settings every QeetMart program reads.
type Common struct {
	// Host is the address the program listens on. Loopback by default: only
	// the program's own sidecar should reach it.
	Host string `env:"HOST" envDefault:"127.0.0.1"`
	// Port is the program's HTTP port; 0 means the program's own default.
	Port int `env:"PORT"`
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level `env:"LOG_LEVEL" envDefault:"info"`
	// AppAPIToken is the token the sidecar sends to the app (dapr-api-token).
	AppAPIToken string `env:"APP_API_TOKEN"`
	// DaprHTTPPort is the sidecar's HTTP API port.
	DaprHTTPPort int `env:"DAPR_HTTP_PORT" envDefault:"3500"`
	// DaprAPIToken is the token the app sends to its sidecar.
	DaprAPIToken string `env:"DAPR_API_TOKEN"`
	// ShutdownTimeout bounds how long in-flight requests may drain on stop.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
	// ReadyTimeout bounds each readiness check.
	ReadyTimeout time.Duration `env:"READY_TIMEOUT" envDefault:"2s"`
	// Version is reported by /info and in traces.
	Version string `env:"APP_VERSION" envDefault:"0.1.0"`
	// OTLPEndpoint, when set, exports traces over OTLP/gRPC.
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// AdminAddr serves /metrics (Prometheus) and Go's profiler, apart from
	// the public port; empty takes AdminAddrFor's default.
	AdminAddr string `env:"ADMIN_ADDR"`
	// BodyLimit caps request bodies, in bytes (413 above it).
	BodyLimit int `env:"BODY_LIMIT" envDefault:"1048576"`
	// Listener timeouts: the request line and headers, then the body, then
	// writing the answer; IdleTimeout ends a keep-alive connection that
	// sends nothing. A client that never finishes its headers is cut off.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"10s"`
	ReadTimeout       time.Duration `env:"READ_TIMEOUT" envDefault:"30s"`
	WriteTimeout      time.Duration `env:"WRITE_TIMEOUT" envDefault:"30s"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"60s"`
	// RequestTimeout is a service handler's deadline: every sidecar call it
	// makes gives up then (503), so a hung sidecar or store cannot hold a
	// request forever. Keep it under the gateway's per-attempt timeout
	// (dapr/resiliency, 5 s).
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"4s"`
}

// Timeouts are the listener's timeouts.
func (c Common) Timeouts() Timeouts {
	return Timeouts{ReadHeader: c.ReadHeaderTimeout, Read: c.ReadTimeout, Write: c.WriteTimeout, Idle: c.IdleTimeout}
}

// Timeouts bound how long a connection may take over each part of an
// exchange.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// Addr is the listen address.
func (c Common) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// Load fills cfg from the environment given as KEY=VALUE pairs (os.Environ()),
// so that tests pass their own environment instead of mutating the process's.
func Load[T any](environ []string) (T, error) {
	var cfg T
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: vars}); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// AdminAddrFor is the admin address of a program whose public port
// defaults to port: ADMIN_ADDR, else loopback at port+5190 (the gateway's
// 4000 gives 9190, each service's 400N gives 919N).
func (c Common) AdminAddrFor(port int) string {
	if c.AdminAddr != "" {
		return c.AdminAddr
	}
	return fmt.Sprintf("127.0.0.1:%d", port+5190)
}
