package stack

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PrometheusConfig scrapes a stack laid out as ports: every app's admin
// address (job apps), every sidecar's metrics port (job sidecars) and
// Sentry's (job sentry), every interval, each target labelled with its app.
func PrometheusConfig(apps []string, ports map[string]Ports, sentry SentryPorts, interval string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Rendered by internal/stack.PrometheusConfig (make observe).\nglobal:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n", interval, interval)
	job := func(name string, port func(Ports) int) {
		fmt.Fprintf(&b, "  - job_name: %s\n    static_configs:\n", name)
		for _, app := range apps {
			fmt.Fprintf(&b, "      - targets: ['127.0.0.1:%d']\n        labels: {app: %s}\n", port(ports[app]), app)
		}
	}
	job("apps", func(p Ports) int { return p.Admin })
	job("sidecars", func(p Ports) int { return p.Metrics })
	fmt.Fprintf(&b, "  - job_name: sentry\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n", sentry.Metrics)
	return []byte(b.String())
}

// ConsoleLibraries is where Debian's prometheus package keeps the console
// libraries (prom.lib, menu.lib) the QeetMart console builds on.
const ConsoleLibraries = "/usr/share/doc/prometheus/examples/console_libraries"

// Prometheus runs Debian's prometheus over config (PrometheusConfig) on
// listen (host:port), with the consoles in root/observe/consoles and its
// data under dir, until ctx ends.
func Prometheus(ctx context.Context, root, dir, listen string, config []byte, log *os.File) (*exec.Cmd, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, config, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "prometheus",
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
		"--web.console.templates="+filepath.Join(root, "observe", "consoles"),
		"--web.console.libraries="+ConsoleLibraries,
		"--storage.tsdb.retention.time=1d")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("prometheus (make observe installs it): %w", err)
	}
	return cmd, nil
}

// ObservePort is where make observe's Prometheus listens, beside make run's
// ports (docs/observability.md).
const ObservePort = 9096

// Where make observe's Jaeger receives OTLP/gRPC and serves its query API.
const (
	JaegerOTLP  = "127.0.0.1:4317"
	JaegerQuery = "127.0.0.1:16686"
)

// ScrapeConfig is PrometheusConfig for this stack.
func (s *Stack) ScrapeConfig(interval string) []byte {
	return PrometheusConfig(s.opts.Apps, s.opts.Ports, s.opts.Sentry, interval)
}

// Jaeger runs bin/jaeger (scripts/build-jaeger.sh) with
// observe/jaeger/config.yaml: OTLP/gRPC in on otlp, the query API on query
// (host:port each), traces in memory, until ctx ends.
func Jaeger(ctx context.Context, root, otlp, query string, log *os.File) (*exec.Cmd, error) {
	host, _, err := net.SplitHostPort(query)
	if err != nil {
		return nil, err
	}
	grpc, err := freePort(host)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "jaeger"), "--config", filepath.Join(root, "observe", "jaeger", "config.yaml"))
	cmd.Env = append(os.Environ(), "JAEGER_OTLP_ADDR="+otlp, "JAEGER_QUERY_ADDR="+query, "JAEGER_QUERY_GRPC_ADDR="+grpc)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("jaeger (make observe builds it): %w", err)
	}
	return cmd, nil
}

// freePort is a host:port nothing listens on now.
func freePort(host string) (string, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}
