package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/qeetmart/qeetmart/internal/stack"
)

// The sidecar benchmark: what each daprd build costs the platform. For each
// daprd binary given, the whole platform is started on it, and the report
// gives the binary's size, every sidecar's resident memory idle and after
// a load of catalog reads through the gateway, and that load's throughput.

func runSidecars(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench sidecars", flag.ContinueOnError)
	out := fs.String("out", "docs/bench/sidecars.md", "report file")
	builds := fs.String("daprd", "bin/daprd", "comma-separated daprd binaries to compare (e.g. a DAPR_COMPONENTS=all build copied aside)")
	duration := fs.Duration("duration", 10*time.Second, "length of the load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var b strings.Builder
	reportHeader(&b, "Sidecar footprint", "make bench-sidecars", "go run ./tools/bench sidecars -daprd "+*builds, *duration)
	b.WriteString("The whole platform (five apps, each beside its daprd, mTLS) on each daprd build: resident memory of every sidecar (total, and anonymous + file-backed) 15 s after the stack is ready, and again after the load, a closed loop of 16 clients reading the category list through the gateway. The file-backed pages are the binary's, shared by every sidecar on the machine: PSS, which divides shared pages among their users, is what five sidecars hold together.\n\n")
	b.WriteString("| daprd | size (MB) | idle RSS per sidecar (MB) | idle PSS, 5 sidecars (MB) | RSS after load, per sidecar (MB) | load: req/s | p99 (ms) |\n|---|---|---|---|---|---|---|\n")
	for _, daprd := range strings.Split(*builds, ",") {
		row, err := measureSidecars(ctx, daprd, *duration, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", daprd, err)
		}
		fmt.Fprintln(stdout, row)
		b.WriteString(row + "\n")
	}
	return writeFile(*out, b.String())
}

func measureSidecars(ctx context.Context, daprd string, d time.Duration, stdout io.Writer) (string, error) {
	info, err := os.Stat(daprd)
	if err != nil {
		return "", err
	}
	s, err := startStack(ctx, stack.Apps, stack.Apps, false, stdout, func(o *stack.Options) {
		o.Bins.Daprd = daprd
		o.AddEnv("gateway", "RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000")
	})
	if err != nil {
		return "", err
	}
	defer s.Close()
	rss := func() (per []string, pss int) {
		for _, app := range stack.Apps {
			_, pid := s.PIDs(app)
			anon, file := residentMB(pid)
			per = append(per, fmt.Sprintf("%s %d (%d+%d)", app, anon+file, anon, file))
			pss += proportionalMB(pid)
		}
		return per, pss
	}
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(15 * time.Second):
	}
	idle, idlePSS := rss()
	load := path{"gateway", fmt.Sprintf("http://127.0.0.1:%d/api/v1/categories", s.Ports("gateway").App), http.Header{}}
	m, _ := attack(load, vegeta.Rate{}, d, 16)
	loaded, _ := rss()
	name := daprd
	if v, err := os.ReadFile(filepath.Join(filepath.Dir(daprd), "."+filepath.Base(daprd)+".version")); err == nil {
		name += " (" + strings.TrimSpace(string(v)) + ")"
	}
	return fmt.Sprintf("| %s | %d | %s | %d | %s | %.0f | %s |", name, info.Size()>>20, strings.Join(idle, ", "), idlePSS,
		strings.Join(loaded, ", "), m.Throughput, ms(m.Latencies.P99)), nil
}

// residentMB is a process's resident memory, in MB: anonymous (heap,
// stacks) and file-backed (the binary's pages in use).
func residentMB(pid int) (anon, file int) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		var kb int
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			fmt.Sscan(rest, &kb)
			anon = kb >> 10
		}
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			fmt.Sscan(rest, &kb)
			file = kb >> 10
		}
	}
	return anon, file
}

// proportionalMB is a process's proportional set size (shared pages divided
// among the processes that map them), in MB.
func proportionalMB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			var kb int
			fmt.Sscan(rest, &kb)
			return kb >> 10
		}
	}
	return 0
}
