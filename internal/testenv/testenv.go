// Package testenv runs the real platform for integration tests: real daprd
// and Sentry processes on free loopback ports, the real app binaries (built
// with -race when the test is), and the real PostgreSQL, with a fresh set of
// databases and a redis-server of its own per Env, all torn down with
// t.Cleanup.
//
// It needs bin/daprd and bin/sentry (make dapr). Tests that use it are
// skipped under -short.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qeetmart/qeetmart/internal/stack"
)

// Env is one running stack under test.
type Env struct {
	*stack.Stack
	t *testing.T
}

// Option adjusts the stack an Env starts.
type Option func(*stack.Options)

// WithEnv adds KEY=VALUE settings to app's environment.
func WithEnv(app string, kv ...string) Option {
	return func(o *stack.Options) { o.AddEnv(app, kv...) }
}

// WithSettings gives every app the user's configuration, as `make run` does
// (stack.LoadSettings).
func WithSettings(settings stack.Settings) Option {
	return func(o *stack.Options) { o.Settings = settings.Env() }
}

// WithTraces sends every app's and sidecar's spans to the OTLP/gRPC
// receiver at addr (host:port).
func WithTraces(addr string) Option {
	return func(o *stack.Options) { o.Traces = addr }
}

// WithEcho runs the echo test app (internal/testenv/echoapp) as app, with
// extra environment settings.
func WithEcho(app string, kv ...string) Option {
	return func(o *stack.Options) { o.UseEcho(app, kv...) }
}

// SkipShort skips an integration test in `go test -short` (make unit); a
// test that checks its tools before it starts a stack calls it first.
func SkipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs daprd, PostgreSQL and Redis")
	}
}

// Start runs apps (each beside its sidecar) plus Sentry, waits until every
// sidecar is healthy, and registers their teardown.
func Start(t *testing.T, apps []string, opts ...Option) *Env {
	t.Helper()
	SkipShort(t)
	// The run folder (logs, rendered resources) outlives a failed test, so
	// a flake can be read in full.
	runDir, err := os.MkdirTemp("", "qeetmart-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("run folder kept: %s", runDir)
			return
		}
		os.RemoveAll(runDir)
	})
	o, err := stack.Ephemeral(RepoRoot(t), runDir, buildApps(t, RepoRoot(t)), apps)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range opts {
		opt(&o)
	}

	ctx := context.Background()
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	env := &Env{Stack: s, t: t}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Logf("stop stack: %v", err)
		}
		env.failOnRaces()
		if t.Failed() {
			env.dumpLogs()
		}
		if err := stack.DropDatabases(context.Background(), o.Backing, s.Databases()); err != nil {
			t.Logf("drop test databases: %v", err)
		}
	})
	if err := s.WaitReady(ctx, 90*time.Second); err != nil {
		t.Fatalf("stack not ready: %v", err)
	}
	return env
}

// Supervise restarts every app or sidecar that exits, as make run does
// (stack.Supervise), until the test ends; what it does goes to log.
func (e *Env) Supervise(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Stack.Supervise(ctx, log)
	}()
	e.t.Cleanup(func() { cancel(); <-done }) // before the stack stops
}

// AddReplica runs another replica of app (app#replica) on free ports.
func (e *Env) AddReplica(app, replica string) string {
	e.t.Helper()
	ports, err := stack.FreePorts()
	if err != nil {
		e.t.Fatal(err)
	}
	name, err := e.Stack.AddReplica(e.t.Context(), app, replica, ports)
	if err != nil {
		e.t.Fatalf("replica %s: %v", name, err)
	}
	return name
}

// URL is the address of app's own port (for the gateway: the public API).
func (e *Env) URL(app string) string {
	return fmt.Sprintf("http://127.0.0.1:%d", e.Ports(app).App)
}

// SidecarURL is the address of app's sidecar HTTP API.
func (e *Env) SidecarURL(app string) string {
	return fmt.Sprintf("http://127.0.0.1:%d", e.Ports(app).HTTP)
}

// Invoke calls method on target through from's sidecar, presenting from's
// Dapr API token as from's app would.
func (e *Env) Invoke(from, target, method string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, e.SidecarURL(from)+"/v1.0/invoke/"+target+"/method/"+method, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("dapr-api-token", e.DaprAPIToken(from))
	return http.DefaultClient.Do(req)
}

// failOnRaces fails the test if the race detector spoke in any app: the apps
// are built with -race when the test is, and report into their logs.
func (e *Env) failOnRaces() {
	for _, app := range e.Apps() {
		raw, err := os.ReadFile(e.LogFile(app))
		if err != nil {
			continue
		}
		if i := strings.Index(string(raw), "WARNING: DATA RACE"); i >= 0 {
			report := string(raw[i:])
			if len(report) > 6000 {
				report = report[:6000]
			}
			e.t.Errorf("data race in %s:\n%s", app, report)
		}
	}
}

func (e *Env) dumpLogs() {
	for _, app := range e.Apps() {
		for _, name := range []string{app, app + "-daprd"} {
			raw, err := os.ReadFile(e.LogFile(name))
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			e.t.Logf("--- %s (last %d lines)\n%s", name, len(lines), strings.Join(lines, "\n"))
		}
	}
}

// RepoRoot finds the module root from the test's working directory.
func RepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// buildApps builds every app once per test binary, with the race detector
// when the test has it, so races inside the apps fail integration tests too.
func buildApps(t *testing.T, root string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "qeetmart-apps-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", buildDir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./gateway", "./services/auth", "./services/user", "./services/product", "./services/inventory", "./internal/testenv/echoapp")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// Main runs a package's tests, then removes the app binaries they built.
// Use it from TestMain: os.Exit(testenv.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	return code
}
