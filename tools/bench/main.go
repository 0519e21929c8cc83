// Command bench runs QeetMart's benchmarks against a throw-away stack (each
// app beside its own daprd, with mTLS, on real PostgreSQL and Redis) and
// writes a Markdown report per benchmark:
//
//	go run ./tools/bench gateway -out docs/bench/gateway.md   (make bench-gateway)
//	go run ./tools/bench auth -out docs/bench/auth.md         (make bench-auth)
//	go run ./tools/bench users -out docs/bench/users.md       (make bench-users)
//	go run ./tools/bench product -out docs/bench/product.md   (make bench-product)
//	go run ./tools/bench sidecars -out docs/bench/sidecars.md (make bench-sidecars)
//
// gateway (gateway.go) measures what the gateway adds: one service endpoint
// of an echo app, called direct, through its own sidecar, and through the
// gateway, at fixed rates and at saturation. auth (auth.go) measures
// register, login and refresh through the gateway.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	benches := map[string]func(context.Context, []string, io.Writer) error{"gateway": runGateway, "auth": runAuth, "users": runUsers, "product": runProduct, "inventory": runInventory, "sidecars": runSidecars}
	var err error
	if bench, ok := benches[firstArg(os.Args)]; ok {
		err = bench(ctx, os.Args[2:], os.Stdout)
	} else {
		err = fmt.Errorf("usage: bench gateway|auth|users|product|inventory|sidecars [flags]")
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func firstArg(args []string) string {
	if len(args) < 2 {
		return ""
	}
	return args[1]
}

// processes whose CPU time a report accounts for, by name.
type processes map[string]int

// cpuTime is a process's user+system CPU time so far (Linux /proc);
// false when it could not be read.
func cpuTime(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	var utime, stime int64
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, true
}

// Every snapshot also reads the load generator (this process: the
// benchmark shares the machine with what it measures) and PostgreSQL (all
// its processes together), so that a report can account for the CPU a
// request costs on the whole machine.
const (
	loadGenerator = "load generator"
	postgreSQL    = "postgresql"
)

// snapshot is each process's CPU time so far, leaving out those it could
// not read.
func (ps processes) snapshot() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range ps {
		if t, ok := cpuTime(pid); ok {
			out[name] = t
		}
	}
	if t, ok := cpuTime(os.Getpid()); ok {
		out[loadGenerator] = t
	}
	if t, ok := commandCPU("postgres"); ok {
		out[postgreSQL] = t
	}
	return out
}

// commandCPU is the CPU time so far of every process running command
// (PostgreSQL runs a process per connection; those of the sidecars' pools
// live through a run). False when none was found.
func commandCPU(command string) (time.Duration, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var total time.Duration
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != command {
			continue
		}
		if t, ok := cpuTime(pid); ok {
			total += t
			found = true
		}
	}
	return total, found
}

// cpuSince is each process's CPU time between two snapshots. A process
// missing from either is left out, so that its figure reads as unknown
// ("-") rather than as a negative one (seen when an overload left the
// load generator out of file descriptors); so is a sum that fell (a
// PostgreSQL connection closed between the two, taking its CPU time
// with it).
func cpuSince(before, after map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, t := range after {
		if b, ok := before[name]; ok && t >= b {
			out[name] = t - b
		}
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// reportHeader starts a report: what ran where, and the command.
func reportHeader(b *strings.Builder, title, command, goCommand string, d time.Duration) {
	host, _ := os.Hostname()
	fmt.Fprintf(b, "# %s\n\nRun %s on %s (%d CPUs, %s/%s), %s per run, load generator on the same machine.\n",
		title, time.Now().UTC().Format(time.RFC3339), host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, d)
	fmt.Fprintf(b, "Command: `%s` (%s).\n\n", command, goCommand)
}

func writeFile(file, text string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, []byte(text), 0o644)
}
