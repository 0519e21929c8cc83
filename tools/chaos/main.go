// Command chaos drives a mixed workload through the gateway of a throw-away
// stack while a seeded schedule of faults hits it (kill -9 of apps and
// sidecars, a paused sidecar, Redis and Sentry restarts), records every
// operation a client was told succeeded, and afterwards checks that none of
// it was lost and that the stock invariants hold. The stack restarts what
// dies (stack.Supervise), as make run does.
//
//	go run ./tools/chaos -seed 1 -duration 1m -out .run/chaos.md   (make chaos)
//
// The same seed gives the same schedule of faults and the same choice of
// operations; what the platform answers is the run's own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/qeetmart/qeetmart/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

const adminEmail, adminPassword = "chaos-admin@example.com", "a chaos admin passphrase"

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	seed := fs.Uint64("seed", 1, "seed of the fault schedule and of the workload's choices")
	duration := fs.Duration("duration", time.Minute, "how long the workload and the faults run")
	every := fs.Duration("fault-every", 6*time.Second, "time between faults")
	workers := fs.Int("workers", 4, "concurrent clients")
	out := fs.String("out", ".run/chaos.md", "report file")
	logLevel := fs.String("log-level", "warn", "of every app and sidecar (info: the gateway logs every request)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	runDir, err := os.MkdirTemp("", "qeetmart-chaos-")
	if err != nil {
		return err
	}
	o, err := stack.Ephemeral(root, runDir, filepath.Join(root, "bin"), stack.Apps)
	if err != nil {
		return err
	}
	o.LogLevel = *logLevel
	// Faults restart PostgreSQL and Redis: the stack's own, never the
	// machine's.
	o.PrivatePostgres = true
	o.AddEnv("auth", "AUTH_ADMIN_EMAIL="+adminEmail, "AUTH_ADMIN_PASSWORD="+adminPassword)
	o.AddEnv("gateway", "RATE_LIMIT_RPS=100000", "RATE_LIMIT_BURST=100000", "AUTH_RATE_LIMIT_RPS=100000", "AUTH_RATE_LIMIT_BURST=100000")
	o.AddEnv("inventory", "RESERVATION_TTL=20s", "ALLOTMENT_LEASE_TIMEOUT=3s", "ALLOTMENT_FROM_RATE=20")
	s, err := stack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		_ = s.Stop()
		// Keep the logs, not the data.
		_ = os.RemoveAll(filepath.Join(runDir, "postgres"))
		_ = os.RemoveAll(filepath.Join(runDir, "redis"))
		fmt.Fprintln(stdout, "logs:", runDir)
	}()
	if err := s.WaitReady(ctx, 90*time.Second); err != nil {
		return err
	}
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	var supervised sync.WaitGroup
	supervised.Go(func() {
		s.Supervise(superviseCtx, slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn})))
	})
	defer func() { stopSupervising(); supervised.Wait() }()

	c := newClient(fmt.Sprintf("http://127.0.0.1:%d", s.Ports("gateway").App))
	if err := c.waitHealthy(ctx, 2*time.Minute); err != nil {
		return err
	}
	w, err := setUp(ctx, c, *seed)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}

	start := time.Now()
	w.began = start
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range *workers {
		wg.Go(func() { w.work(runCtx, rand.New(rand.NewPCG(*seed, uint64(i)))) })
	}
	faults := inject(runCtx, s, c, rand.New(rand.NewPCG(*seed, 1<<32)), *every, start, stdout)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Faults over: the stack must come back by itself.
	recovered := c.waitHealthy(ctx, 2*time.Minute)
	// Revocations must hold at every replica, one started after every fault
	// included (it learns them from auth, not from events it never saw).
	gateways := []string{c.first()}
	ports, err := stack.FreePorts()
	if err == nil {
		_, err = s.AddReplica(ctx, "gateway", "check", ports)
	}
	if err == nil {
		gateways = append(gateways, fmt.Sprintf("http://127.0.0.1:%d", ports.App))
	}
	violations := w.check(ctx, gateways)
	if err != nil {
		violations = append([]string{"a gateway replica started for the checks did not come up: " + err.Error()}, violations...)
	}
	if recovered != nil {
		violations = append([]string{"the stack did not come back healthy within 2 min after the faults: " + recovered.Error()}, violations...)
	}
	report := w.report(*seed, *duration, start, faults, violations)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, report)
	if len(violations) > 0 {
		return errors.New("violations found: see " + *out)
	}
	return nil
}
