// Command stack runs the whole QeetMart platform on this machine: Sentry and
// five apps, each beside its own daprd, on the fixed ports in the README.
//
//	stack up          start, wait until ready, print the table, run until Ctrl-C/SIGTERM
//	stack cli         the same through the Dapr CLI (`dapr run -f`, bin/dapr)
//	stack verify-cli  start through the CLI, check the gateway and one API, stop
//	stack stop        stop a stack started by `stack up` or `stack cli` from another shell
//	stack render      write the Dapr resources for Kubernetes (k8s/base/dapr) and
//	                  Compose (compose/dapr) from components/ and dapr/ (make k8s)
//	stack compose-env write compose/.env and compose/.secrets (tokens, Sentry's CA), once
//
// `make run` and `make stop` call it. Logs go to files under RUN_DIR (.run).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/qeetmart/qeetmart/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	// The environment, else .env at the repository root (see .env.example).
	settings, err := stack.LoadSettings(root, getenv)
	if err != nil {
		return err
	}
	runDir := settings.Getenv("RUN_DIR")
	if runDir == "" {
		runDir = ".run"
	}
	runDir, err = filepath.Abs(runDir)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return errors.New("usage: stack up|cli|verify-cli|stop|render|compose-env|observe")
	}
	switch args[0] {
	case "up":
		return up(ctx, root, runDir, settings, stdout, launch{})
	case "cli":
		return up(ctx, root, runDir, settings, stdout, launch{cli: true})
	case "verify-cli":
		return up(ctx, root, runDir, settings, stdout, launch{cli: true, verify: true})
	case "stop":
		return stopRunning(runDir, stdout)
	case "render":
		if err := stack.RenderKubernetes(root, filepath.Join(root, "k8s", "base", "dapr")); err != nil {
			return err
		}
		if err := stack.RenderCompose(root, filepath.Join(root, "compose", "dapr")); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, stack.ComposePrometheus), stack.PrometheusConfig(stack.ComposeTargets(), "5s"), 0o644)
	case "compose-env":
		return stack.ComposeEnv(filepath.Join(root, "compose"), stack.Apps)
	case "observe":
		return observe(ctx, root, runDir, stdout)
	default:
		return fmt.Errorf("unknown command %q (want up, cli, verify-cli, stop, render, compose-env or observe)", args[0])
	}
}

// launch says how up runs the platform.
type launch struct {
	cli    bool // through the Dapr CLI
	verify bool // check it once and stop, instead of running until a signal
}

func up(ctx context.Context, root, runDir string, settings stack.Settings, stdout io.Writer, how launch) error {
	start := time.Now()
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	unlock, err := lock(runDir)
	if err != nil {
		return err
	}
	defer unlock()

	ports, sentry := stack.FixedPorts()
	bin := filepath.Join(root, "bin")
	var cli *stack.CLI
	var extra []int
	if how.cli {
		sentry.GRPC = stack.CLISentryPort
		cli = &stack.CLI{Dapr: filepath.Join(bin, "dapr"), Placement: filepath.Join(bin, "placement")}
		extra = cli.Ports()
	}
	if err := portsFree(ports, sentry, extra...); err != nil {
		return err
	}
	// Each run starts from empty logs and a fresh CA and name registry.
	for _, old := range []string{"sentry", "resources", "nameresolution.db"} {
		os.RemoveAll(filepath.Join(runDir, old))
	}
	logs, _ := filepath.Glob(filepath.Join(runDir, "*.log"))
	for _, l := range logs {
		os.Remove(l)
	}
	logLevel := settings.Getenv("LOG_LEVEL")
	s, err := stack.Start(ctx, stack.Options{
		Root:     root,
		RunDir:   runDir,
		Bins:     stack.Binaries{Daprd: filepath.Join(bin, "daprd"), Sentry: filepath.Join(bin, "sentry"), AppDir: bin},
		Apps:     stack.Apps,
		Ports:    ports,
		Sentry:   sentry,
		Backing:  stack.BackingFromEnv(settings.Getenv),
		LogLevel: logLevel,
		Settings: settings.Env(),
		CLI:      cli,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "stopping QeetMart...")
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stack:", err)
		}
		fmt.Fprintln(stdout, "stopped")
	}()

	gateway := fmt.Sprintf("http://127.0.0.1:%d", ports["gateway"].App)
	if !how.cli { // the CLI's apps are not the stack's children: the gateway's health tells
		if err := s.WaitReady(ctx, 90*time.Second); err != nil {
			return err
		}
	}
	if err := waitHealthy(ctx, gateway+"/health/services", 120*time.Second); err != nil {
		return err
	}
	if how.verify {
		fmt.Fprintf(stdout, "every service healthy through the gateway after %.1fs\n", time.Since(start).Seconds())
		return checkAPI(ctx, gateway, stdout)
	}
	if how.cli {
		// The CLI keeps the apps' and sidecars' logs, beside each app.
		fmt.Fprintf(stdout, "ready through the Dapr CLI in %.1fs; logs in <app folder>/.dapr/logs and %s\n", time.Since(start).Seconds(), s.LogFile("dapr-cli"))
	} else {
		printTable(stdout, s, sentry, time.Since(start))
	}
	fmt.Fprintf(stdout, "\nQeetMart is up: %s (try %s/health/services)\nCtrl-C or `make stop` stops it.\n", gateway, gateway)
	if !how.cli { // the CLI keeps its own processes
		// An app or sidecar that exits is started again, with backoff, as
		// Kubernetes would; this returns before the deferred Stop runs.
		s.Supervise(ctx, slog.New(slog.NewTextHandler(stdout, nil)))
	}
	<-ctx.Done()
	return nil
}

func printTable(w io.Writer, s *stack.Stack, sentry stack.SentryPorts, took time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tAPP PORT\tDAPR HTTP\tDAPR GRPC\tINTERNAL\tMETRICS\tLOG")
	for _, app := range s.Apps() {
		p := s.Ports(app)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", app, p.App, p.HTTP, p.GRPC, p.Internal, p.Metrics, s.LogFile(app)+" (+ "+filepath.Base(s.LogFile(app+"-daprd"))+")")
	}
	fmt.Fprintf(tw, "sentry\t-\t-\t%d\t-\t%d\t%s\n", sentry.GRPC, sentry.Metrics, s.LogFile("sentry"))
	tw.Flush()
	fmt.Fprintf(w, "ready in %.1fs\n", took.Seconds())
}

// checkAPI calls one public API through the gateway: the catalog's
// categories, anonymous, through the product service and its store.
func checkAPI(ctx context.Context, gateway string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gateway+"/api/v1/categories", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("GET /api/v1/categories: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/categories: HTTP %d: %s", resp.StatusCode, body)
	}
	fmt.Fprintf(stdout, "GET /api/v1/categories through the gateway: 200 %s\n", strings.TrimSpace(string(body)))
	return nil
}

// waitHealthy polls the gateway's aggregated health until it answers 200.
func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 3 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway health not ok after %s: %s", timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// portsFree fails fast, naming the port, if anything already listens on one
// of the stack's ports.
func portsFree(ports map[string]stack.Ports, sentry stack.SentryPorts, extra ...int) error {
	check := append([]int{sentry.GRPC, sentry.Health, sentry.Metrics}, extra...)
	for _, p := range ports {
		check = append(check, p.App, p.HTTP, p.GRPC, p.Internal, p.Metrics, p.Admin)
	}
	for _, port := range check {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return fmt.Errorf("port %d is already in use; is another stack or program running? (%v)", port, err)
		}
		ln.Close()
	}
	return nil
}

// lock makes sure one stack runs per run folder, and records our pid for
// `stack stop`.
func lock(runDir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(runDir, "stack.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		pid, _ := os.ReadFile(filepath.Join(runDir, "stack.pid"))
		return nil, fmt.Errorf("a QeetMart stack is already running (pid %s); stop it with `make stop`", strings.TrimSpace(string(pid)))
	}
	pidFile := filepath.Join(runDir, "stack.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		os.Remove(pidFile)
		f.Close()
	}, nil
}

// stopRunning signals the running `stack up` and waits for it to finish.
func stopRunning(runDir string, stdout io.Writer) error {
	raw, err := os.ReadFile(filepath.Join(runDir, "stack.pid"))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stdout, "no QeetMart stack is running")
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("bad pid file: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			os.Remove(filepath.Join(runDir, "stack.pid"))
			fmt.Fprintln(stdout, "no QeetMart stack is running")
			return nil
		}
		return fmt.Errorf("signal stack (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Fprintln(stdout, "QeetMart stack stopped")
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("stack (pid %d) still running after 30s", pid)
}

// observe runs Prometheus over make run's fixed ports until ctx ends
// (docs/observability.md).
func observe(ctx context.Context, root, runDir string, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx) // one ending ends the other
	defer cancel()
	ports, sentry := stack.FixedPorts()
	dir := filepath.Join(runDir, "observe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	listen := fmt.Sprintf("127.0.0.1:%d", stack.ObservePort)
	start := time.Now()
	prom, err := stack.Prometheus(ctx, root, dir, listen, stack.PrometheusConfig(stack.LocalTargets(stack.Apps, ports, sentry), "5s"), log)
	if err != nil {
		return err
	}
	jaeger, err := stack.Jaeger(ctx, root, stack.JaegerOTLP, stack.JaegerQuery, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Prometheus on http://%s, Jaeger on http://%s (started in %s; log %s)
  the QeetMart console: http://%s/consoles/qeetmart.html
  traces: start make run with OTEL_EXPORTER_OTLP_ENDPOINT=http://%s OTEL_EXPORTER_OTLP_INSECURE=true,
          then curl http://%s/api/traces/<trace id>  (the 2nd field of a response's traceparent header)
Ctrl-C stops both.
`, listen, stack.JaegerQuery, time.Since(start).Round(time.Millisecond), log.Name(), listen, stack.JaegerOTLP, stack.JaegerQuery)
	errs := make(chan error, 2)
	go func() { errs <- prom.Wait() }()
	go func() { errs <- jaeger.Wait() }()
	err = <-errs
	stopped := ctx.Err() != nil
	cancel()
	<-errs
	if err != nil && !stopped {
		return fmt.Errorf("observe: %w", err)
	}
	return nil
}
