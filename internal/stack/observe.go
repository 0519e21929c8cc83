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

// ScrapeTargets are where Prometheus finds a stack's metrics: each app's
// admin address, each sidecar's metrics port (host:port each), Sentry's.
type ScrapeTargets struct {
	Apps           []string
	Admin, Sidecar func(app string) string
	Sentry         string
}

// LocalTargets are a stack on this machine laid out as ports.
func LocalTargets(apps []string, ports map[string]Ports, sentry SentryPorts) ScrapeTargets {
	local := func(port func(Ports) int) func(string) string {
		return func(app string) string { return fmt.Sprintf("127.0.0.1:%d", port(ports[app])) }
	}
	return ScrapeTargets{Apps: apps, Admin: local(func(p Ports) int { return p.Admin }),
		Sidecar: local(func(p Ports) int { return p.Metrics }), Sentry: fmt.Sprintf("127.0.0.1:%d", sentry.Metrics)}
}

// ComposeTargets are docker-compose.yml's: each app (and its sidecar, in
// its network namespace) under the app's service name, ADMIN_ADDR 9190,
// daprd's and Sentry's metrics on 9090.
func ComposeTargets() ScrapeTargets {
	return ScrapeTargets{Apps: Apps, Admin: func(app string) string { return app + ":9190" },
		Sidecar: func(app string) string { return app + ":9090" }, Sentry: "sentry:9090"}
}

// PrometheusConfig scrapes targets: every app's admin address (job apps),
// every sidecar's metrics (job sidecars) and Sentry's (job sentry), every
// interval, each target labelled with its app. The dashboards
// (observe/consoles, observe/dashboards) query by these job and app labels;
// k8s/observability's scrape jobs give the same.
func PrometheusConfig(targets ScrapeTargets, interval string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Rendered by internal/stack.PrometheusConfig (make observe, make k8s).\nglobal:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n", interval, interval)
	job := func(name string, target func(string) string) {
		fmt.Fprintf(&b, "  - job_name: %s\n    static_configs:\n", name)
		for _, app := range targets.Apps {
			fmt.Fprintf(&b, "      - targets: ['%s']\n        labels: {app: %s}\n", target(app), app)
		}
	}
	job("apps", targets.Admin)
	job("sidecars", targets.Sidecar)
	fmt.Fprintf(&b, "  - job_name: sentry\n    static_configs:\n      - targets: ['%s']\n", targets.Sentry)
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
	return PrometheusConfig(LocalTargets(s.opts.Apps, s.opts.Ports, s.opts.Sentry), interval)
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
