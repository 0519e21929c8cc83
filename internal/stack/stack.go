// Package stack brings QeetMart up on one host: Sentry, then each app beside
// its own daprd, on loopback, with per-run tokens and rendered resources.
// `make run` (tools/stack) and the integration tests (internal/testenv) both
// use it, so the tests run the platform the way users do. It also renders
// the same Dapr resources for the ways of running that cannot render them
// at start: Kubernetes and Compose (manifests.go, composeenv.go).
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Apps lists every program, gateway first.
var Apps = []string{"gateway", "auth", "user", "product", "inventory"}

// Ports are one app's port and its sidecar's.
type Ports struct {
	App, HTTP, GRPC, Internal, Metrics int
	Admin                              int // the app's own admin port (gateway metrics)
}

// SentryPorts are the local Sentry's ports.
type SentryPorts struct {
	GRPC, Health, Metrics int
}

// FixedPorts is the documented layout `make run` uses: app i on 4000+i, its
// sidecar on 3500+i (HTTP), 50010+i (gRPC), 50020+i (internal gRPC) and
// 9090+i (metrics), the app's admin port on 9190+i; Sentry on 50050 with health 50051 and metrics 9099.
func FixedPorts() (map[string]Ports, SentryPorts) {
	ports := make(map[string]Ports, len(Apps))
	for i, app := range Apps {
		ports[app] = Ports{App: 4000 + i, HTTP: 3500 + i, GRPC: 50010 + i, Internal: 50020 + i, Metrics: 9090 + i, Admin: 9190 + i}
	}
	return ports, SentryPorts{GRPC: 50050, Health: 50051, Metrics: 9099}
}

// Binaries says where the programs are.
type Binaries struct {
	Daprd, Sentry string
	AppDir        string // holds one binary per app, named after it
	// Apps overrides the binary of some apps (tests run purpose-built
	// upstreams under a real app-id).
	Apps map[string]string
}

func (b Binaries) app(id string) string {
	if bin, ok := b.Apps[id]; ok {
		return bin
	}
	return filepath.Join(b.AppDir, id)
}

// Options describe one stack.
type Options struct {
	Root    string   // repository root: components/ and dapr/
	RunDir  string   // logs, rendered resources, Sentry's CA
	Bins    Binaries //
	Apps    []string // which apps to run; the gateway is one of them
	Ports   map[string]Ports
	Sentry  SentryPorts
	Backing Backing
	// DBPrefix isolates a test run's databases on a shared PostgreSQL.
	DBPrefix string
	// PrivateRedis starts a redis-server of the stack's own: pub/sub streams
	// and their consumer groups have fixed names, so stacks sharing a Redis
	// would take each other's events.
	PrivateRedis bool
	// PrivatePostgres starts a PostgreSQL of the stack's own (a new cluster
	// in RunDir), so faults can restart it without touching the machine's
	// (the chaos run).
	PrivatePostgres bool
	LogLevel        string // for apps and daprd; default info
	// Settings (KEY=VALUE) go to every app: the user's configuration
	// (LoadSettings). What the stack assigns (ports, tokens) overrides them.
	Settings []string
	ExtraEnv map[string][]string // per app, KEY=VALUE, after everything else
	// Traces, when set (host:port), is an OTLP/gRPC receiver (plain text)
	// every app and every sidecar exports its spans to, overriding the
	// launcher's OTEL_* settings.
	Traces string
	// SamplingRate, when set, is the share of new traces sampled, by the
	// apps' SDK (parent-based ratio) and by every sidecar (samplingRate,
	// also parent-based); W3C context still travels on every request.
	// Unset, the committed configuration's 1.
	SamplingRate string
	// NoDaprMetrics turns every sidecar's metrics off (spec.metrics), for
	// measuring what they cost.
	NoDaprMetrics bool
	// CLI, when set, runs the apps and their sidecars through the Dapr CLI
	// (`dapr run -f`) instead of one by one; Sentry must then be on
	// CLISentryPort.
	CLI *CLI
}

// Stack is a running platform.
type Stack struct {
	opts     Options
	res      rendered
	anchors  string // Sentry's CA, PEM
	sentry   *process
	redis    *process // with PrivateRedis
	postgres *process // with PrivatePostgres
	cli      *cli     // with Options.CLI
	mu       sync.Mutex
	nodes    map[string]*node
}

type node struct {
	appToken, apiToken string
	app, daprd         *process
}

// Start creates the databases, renders the resources, starts Sentry and then
// every app with its sidecar. It returns once every process has started;
// WaitReady waits until they serve. On error, whatever started is stopped.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if err := os.MkdirAll(o.RunDir, 0o755); err != nil {
		return nil, err
	}
	s := &Stack{opts: o, nodes: map[string]*node{}}
	if o.PrivateRedis {
		redis, host, err := startRedis(ctx, o.RunDir, 0)
		if err != nil {
			return nil, err
		}
		s.redis, s.opts.Backing.RedisHost, s.opts.Backing.RedisPassword = redis, host, ""
	}
	if o.PrivatePostgres {
		port, err := FreePort()
		if err != nil {
			return nil, errors.Join(err, s.Stop())
		}
		if s.postgres, err = startPostgres(ctx, o.RunDir, port); err != nil {
			return nil, errors.Join(err, s.Stop())
		}
		s.opts.Backing.PGHost, s.opts.Backing.PGPort, s.opts.Backing.PGUser, s.opts.Backing.PGPassword = "127.0.0.1", strconv.Itoa(port), "postgres", ""
	}
	res, err := render(o.Root, o.RunDir, s.opts.Backing, renderOptions{
		DBPrefix:       o.DBPrefix,
		NameResolution: filepath.Join(o.RunDir, "nameresolution.db"),
		MTLSInConfig:   o.CLI != nil,
		SamplingRate:   o.SamplingRate,
		NoDaprMetrics:  o.NoDaprMetrics,
	})
	if err == nil {
		err = EnsureDatabases(ctx, s.opts.Backing, res.Databases)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("resources: %w", err), s.Stop())
	}
	s.res = res
	if err := s.startAll(ctx); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

func (s *Stack) startAll(ctx context.Context) error {
	if err := s.startSentry(ctx); err != nil {
		return err
	}
	if s.opts.CLI != nil {
		return s.startCLI(ctx)
	}
	for i, app := range s.opts.Apps {
		if err := s.StartApp(app); err != nil {
			return err
		}
		if i == 0 {
			// The first sidecar creates the name-resolution database (WAL
			// mode, migrations) alone: a sidecar racing it can fail its
			// name-resolution init with SQLITE_BUSY, and daprd then runs on
			// unregistered, unreachable by every other app (seen here).
			if err := s.waitOutbound(ctx, app); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitOutbound waits until app's sidecar has initialised (its outbound
// health answers before the app itself is up).
func (s *Stack) waitOutbound(ctx context.Context, app string) error {
	n, err := s.node(app)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz/outbound", s.Ports(app).HTTP)
	if err := waitHTTP(ctx, n.daprd, url, nil); err != nil {
		return fmt.Errorf("%s's sidecar: %w (log: %s)", app, err, s.LogFile(app+"-daprd"))
	}
	return nil
}

func (s *Stack) startSentry(ctx context.Context) error {
	creds := filepath.Join(s.opts.RunDir, "sentry")
	if err := os.MkdirAll(creds, 0o700); err != nil {
		return err
	}
	// The CA is made here, not by Sentry: Sentry watches the folder it
	// writes its own CA into, sees its own write as a change two seconds
	// later and restarts its gRPC server, and a sidecar asking for its
	// identity in that window is refused and exits (seen under load).
	if _, err := os.Stat(filepath.Join(creds, "ca.crt")); errors.Is(err, os.ErrNotExist) {
		if err := writeSentryCA(creds, "public", 365*24*time.Hour); err != nil {
			return fmt.Errorf("sentry CA: %w", err)
		}
	}
	p := s.opts.Sentry
	args := []string{
		"--config", filepath.Join(s.opts.Root, "dapr", "sentry.yaml"),
		"--issuer-credentials", creds,
		"--listen-address", "127.0.0.1", "--port", strconv.Itoa(p.GRPC),
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", strconv.Itoa(p.Health),
		"--metrics-listen-address", "127.0.0.1", "--metrics-port", strconv.Itoa(p.Metrics),
		"--log-as-json",
	}
	proc, err := startProcess("sentry", s.opts.Bins.Sentry, args, baseEnv(), filepath.Join(s.opts.RunDir, "sentry.log"))
	if err != nil {
		return err
	}
	s.sentry = proc
	sentryCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := waitHTTP(sentryCtx, proc, fmt.Sprintf("http://127.0.0.1:%d/healthz", p.Health), nil); err != nil {
		return fmt.Errorf("sentry: %w (see %s)", err, filepath.Join(s.opts.RunDir, "sentry.log"))
	}
	pem, err := os.ReadFile(filepath.Join(creds, "ca.crt"))
	if err != nil {
		return fmt.Errorf("sentry CA: %w", err)
	}
	s.anchors = string(pem)
	return nil
}

// StartApp starts app and its sidecar (again, after StopApp), keeping the
// tokens of an earlier start so the other parts need not change.
//
// name is an app-id, or app-id#replica for another replica of that app
// (see AddReplica).
func (s *Stack) StartApp(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, _, _ := strings.Cut(name, "#")
	n := s.nodes[name]
	if n == nil {
		n = &node{appToken: randomToken(), apiToken: randomToken()}
		s.nodes[name] = n
	}
	ports, ok := s.opts.Ports[name]
	if !ok {
		return fmt.Errorf("no ports for %q", name)
	}
	var err error
	if n.daprd == nil || n.daprd.exited() {
		n.daprd, err = startProcess(name+"-daprd", s.opts.Bins.Daprd, s.daprdArgs(app, ports), s.daprdEnv(n), s.LogFile(name+"-daprd"))
		if err != nil {
			return err
		}
	}
	if n.app == nil || n.app.exited() {
		n.app, err = startProcess(name, s.opts.Bins.app(app), nil, s.appEnv(app, ports, n), s.LogFile(name))
	}
	return err
}

// AddReplica runs one more replica of app, named app#replica, beside its own
// sidecar on ports of its own, and waits until it is ready.
func (s *Stack) AddReplica(ctx context.Context, app, replica string, ports Ports) (string, error) {
	name := app + "#" + replica
	s.mu.Lock()
	s.opts.Ports[name] = ports
	s.opts.Apps = append(s.opts.Apps, name)
	s.mu.Unlock()
	if err := s.StartApp(name); err != nil {
		return name, err
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return name, s.WaitAppReady(ctx, name)
}

// RemoveReplica stops a replica AddReplica started, its app first (it
// drains) and then its sidecar, and forgets it, so Supervise does not bring
// it back.
func (s *Stack) RemoveReplica(name string) error {
	s.mu.Lock()
	n := s.nodes[name]
	delete(s.nodes, name)
	delete(s.opts.Ports, name)
	s.opts.Apps = slices.DeleteFunc(s.opts.Apps, func(a string) bool { return a == name })
	s.mu.Unlock()
	if n == nil {
		return fmt.Errorf("no replica %q", name)
	}
	return errors.Join(stopProc(n.app), stopProc(n.daprd))
}

func (s *Stack) daprdArgs(app string, p Ports) []string {
	return []string{
		"--mode", "standalone",
		"--app-id", app,
		"--app-port", strconv.Itoa(p.App), "--app-protocol", "http", "--app-channel-address", "127.0.0.1",
		"--dapr-listen-addresses", "127.0.0.1",
		"--dapr-http-port", strconv.Itoa(p.HTTP),
		"--dapr-grpc-port", strconv.Itoa(p.GRPC),
		"--dapr-internal-grpc-port", strconv.Itoa(p.Internal), "--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--metrics-port", strconv.Itoa(p.Metrics), "--metrics-listen-address", "127.0.0.1",
		"--resources-path", s.res.ResourcesDir,
		"--config", s.res.ConfigFile(app),
		"--enable-mtls", "--sentry-address", fmt.Sprintf("127.0.0.1:%d", s.opts.Sentry.GRPC),
		// daprd probes the app's liveness, so calls to a dead app fail fast.
		// A refused connection fails a probe at once; the 1.5 s probe
		// timeout (it must stay under the interval) and threshold 2 keep a
		// busy, not dead, app from being cut off.
		"--enable-app-health-check", "--app-health-check-path", "/health",
		"--app-health-probe-interval", "2", "--app-health-probe-timeout", "1500", "--app-health-threshold", "2",
		"--dapr-graceful-shutdown-seconds", "2",
		// Headers up to what the gateway accepts (HEADER_LIMIT, 16 KiB)
		// plus what it adds; daprd's default (4 KiB) answered a long path
		// with a plain-text 431.
		"--read-buffer-size", "32Ki",
		"--log-as-json", "--log-level", s.opts.LogLevel,
	}
}

func (s *Stack) daprdEnv(n *node) []string {
	return append(append(baseEnv(),
		"DAPR_HOST_IP=127.0.0.1",
		"NAMESPACE=default",
		"DAPR_TRUST_ANCHORS="+s.anchors,
		"APP_API_TOKEN="+n.appToken,
		"DAPR_API_TOKEN="+n.apiToken,
	), s.tracesEnv()...)
}

func (s *Stack) appEnv(app string, p Ports, n *node) []string {
	env := append(baseEnv(), s.opts.Settings...)
	env = append(env,
		"HOST=127.0.0.1",
		"PORT="+strconv.Itoa(p.App),
		"DAPR_HTTP_PORT="+strconv.Itoa(p.HTTP),
		"DAPR_GRPC_PORT="+strconv.Itoa(p.GRPC),
		"APP_API_TOKEN="+n.appToken,
		"DAPR_API_TOKEN="+n.apiToken,
		"LOG_LEVEL="+s.opts.LogLevel,
		"ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(p.Admin),
	)
	env = append(env, s.opts.Backing.libpqEnv(s.opts.DBPrefix+app)...)
	env = append(env, s.tracesEnv()...)
	return append(env, s.opts.ExtraEnv[app]...)
}

// tracesEnv sets the apps' sampler (with SamplingRate) and points
// OpenTelemetry's exporters (the apps' SDK and daprd's) at Options.Traces,
// flushing often so a test sees spans soon.
func (s *Stack) tracesEnv() []string {
	var env []string
	if s.opts.SamplingRate != "" {
		env = append(env, "OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG="+s.opts.SamplingRate)
	}
	if s.opts.Traces == "" {
		return env
	}
	return append(env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+s.opts.Traces, "OTEL_EXPORTER_OTLP_INSECURE=true",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_BSP_SCHEDULE_DELAY=200")
}

// baseEnv passes through what every child needs from the launcher's
// environment (PATH, HOME, and OpenTelemetry's settings), nothing else.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "TMPDIR" || strings.HasPrefix(k, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

// SetEnv adds KEY=VALUE settings to app's environment from its next start
// on (a later value of a key wins), as a redeploy with new settings would.
func (s *Stack) SetEnv(app string, kv ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.AddEnv(app, kv...)
}

// StopApp stops app and its sidecar, as a crash or a deploy would.
func (s *Stack) StopApp(app string) error {
	a, err := s.process(app, func(n *node) *process { return n.app })
	if err != nil {
		return err
	}
	d, _ := s.process(app, func(n *node) *process { return n.daprd })
	return errors.Join(stopProc(a), stopProc(d))
}

// StopAppOnly stops app but leaves its sidecar running.
func (s *Stack) StopAppOnly(app string) error {
	p, err := s.process(app, func(n *node) *process { return n.app })
	if err != nil {
		return err
	}
	return stopProc(p)
}

// KillApp ends app with SIGKILL, as a crash would: no drain, no goodbye.
// StartApp starts it again.
func (s *Stack) KillApp(app string) error {
	p, err := s.process(app, func(n *node) *process { return n.app })
	if err != nil {
		return err
	}
	return p.kill()
}

// KillSidecar ends app's daprd with SIGKILL. StartApp starts it again.
func (s *Stack) KillSidecar(app string) error {
	p, err := s.process(app, func(n *node) *process { return n.daprd })
	if err != nil {
		return err
	}
	return p.kill()
}

// PauseSidecar freezes app's daprd (SIGSTOP), as a hung sidecar would be:
// its connections stay open and nothing answers. It returns once every
// thread is stopped, with the function that resumes it.
func (s *Stack) PauseSidecar(app string) (resume func() error, err error) {
	p, err := s.process(app, func(n *node) *process { return n.daprd })
	if err != nil {
		return nil, err
	}
	if err := p.pause(); err != nil {
		_ = p.resume()
		return nil, err
	}
	return p.resume, nil
}

// process is one of app's processes, read under the lock (Supervise may be
// replacing it).
func (s *Stack) process(app string, pick func(*node) *process) (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[app]
	if n == nil {
		return nil, fmt.Errorf("app %q was never started", app)
	}
	return pick(n), nil
}

func (s *Stack) node(app string) (*node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[app]; n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("app %q was never started", app)
}

func stopProc(p *process) error {
	if p == nil {
		return nil
	}
	return p.stop(10 * time.Second)
}

// Stop ends every process: apps first (they drain), then sidecars, then Sentry.
func (s *Stack) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	each := func(pick func(*node) *process) {
		for _, n := range s.nodes {
			wg.Go(func() {
				if err := stopProc(pick(n)); err != nil {
					emu.Lock()
					errs = append(errs, err)
					emu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	each(func(n *node) *process { return n.app })
	each(func(n *node) *process { return n.daprd })
	if s.cli != nil {
		errs = append(errs, s.cli.stop(s.opts.CLI.Dapr))
	}
	if s.sentry != nil {
		errs = append(errs, stopProc(s.sentry))
	}
	if s.redis != nil {
		errs = append(errs, stopProc(s.redis))
	}
	if s.postgres != nil {
		errs = append(errs, stopProc(s.postgres))
	}
	return errors.Join(errs...)
}

// RestartSentry kills Sentry (kill -9) and starts it again with the same
// CA: sidecars keep their certificates and ask it again when they renew.
func (s *Stack) RestartSentry(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sentry.kill(); err != nil {
		return err
	}
	return s.startSentry(ctx)
}

// WaitReady waits until every sidecar reports healthy, which daprd does only
// once its components are up and its app answers.
func (s *Stack) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	apps := s.Apps()
	errs := make([]error, len(apps))
	for i, app := range apps {
		wg.Go(func() { errs[i] = s.WaitAppReady(ctx, app) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitReachable waits until the gateway's sidecar reaches every other app
// through service invocation: a sidecar reports healthy a moment before name
// resolution can find it ("no host found with the given ID").
func (s *Stack) waitReachable(ctx context.Context, apps []string) error {
	gw, err := s.node("gateway")
	if err != nil {
		return nil // no gateway in this stack: nobody invokes anybody
	}
	header := http.Header{"Dapr-Api-Token": {gw.apiToken}}
	for _, app := range apps {
		appID, _, _ := strings.Cut(app, "#") // a replica answers to its app's id
		if appID == "gateway" {
			continue
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method/ready", s.Ports("gateway").HTTP, appID)
		if err := waitHTTP(ctx, gw.daprd, url, header); err != nil {
			return fmt.Errorf("gateway cannot reach %s through Dapr: %w", app, err)
		}
	}
	return nil
}

// WaitAppReady waits until app's sidecar reports healthy and the app's own
// /ready answers 200 (asked as its sidecar would, with the app token).
func (s *Stack) WaitAppReady(ctx context.Context, app string) error {
	n, err := s.node(app)
	if err != nil {
		return err
	}
	p := s.Ports(app)
	err = waitHTTP(ctx, n.daprd, fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", p.HTTP), nil)
	if err == nil {
		err = waitHTTP(ctx, n.app, fmt.Sprintf("http://127.0.0.1:%d/ready", p.App), http.Header{"Dapr-Api-Token": {n.appToken}})
	}
	if err == nil {
		err = s.waitReachable(ctx, []string{app})
	}
	if err != nil {
		return fmt.Errorf("%s: %w (logs: %s, %s)", app, err, s.LogFile(app), s.LogFile(app+"-daprd"))
	}
	return nil
}

// LogFile is where the named process writes.
func (s *Stack) LogFile(name string) string {
	return filepath.Join(s.opts.RunDir, name+".log")
}

// Ports returns app's ports.
func (s *Stack) Ports(app string) Ports {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Ports[app]
}

// Apps returns the apps (and replicas) this stack runs.
func (s *Stack) Apps() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.opts.Apps)
}

// DaprAPIToken is the token app's sidecar expects from app.
func (s *Stack) DaprAPIToken(app string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[app].apiToken
}

// AppAPIToken is the token app expects from its sidecar.
func (s *Stack) AppAPIToken(app string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[app].appToken
}

// waitHTTP polls url (sending header) until it answers 2xx, p exits or ctx
// ends.
func waitHTTP(ctx context.Context, p *process, url string, header http.Header) error {
	client := &http.Client{Timeout: time.Second}
	last := "no answer yet" // what the last attempt got, for the error
	for {
		if p != nil && p.exited() {
			return errors.New(p.exitReport())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (last answer: %s): %w", url, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// PIDs returns the process ids of app and its sidecar (0 when not running),
// for tools that measure their cost.
func (s *Stack) PIDs(app string) (appPID, daprdPID int) {
	n, err := s.node(app)
	if err != nil {
		return 0, 0
	}
	if n.app != nil && !n.app.exited() {
		appPID = n.app.cmd.Process.Pid
	}
	if n.daprd != nil && !n.daprd.exited() {
		daprdPID = n.daprd.cmd.Process.Pid
	}
	return appPID, daprdPID
}

// Backing is where the stack's PostgreSQL and Redis are (its private ones
// when it has them).
func (s *Stack) Backing() Backing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Backing
}

// RedisHost is the host:port of the Redis the components use.
func (s *Stack) RedisHost() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Backing.RedisHost
}
