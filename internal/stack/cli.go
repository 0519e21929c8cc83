package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// CLI runs the apps the way Dapr CLI users do: `dapr run -f` over a run
// file rendered from dapr/dapr.yaml, with the same rendered components and
// Configurations as make run. The stack still starts what `dapr init` would
// have: Sentry (mTLS, which access control needs to know the caller) and
// placement, which CLI 1.12 always points every sidecar at.
type CLI struct {
	Dapr, Placement string // the CLI and placement binaries
}

// The addresses CLI 1.12 gives every daprd, whatever the run file says:
// --sentry-address localhost:50001 (when the Configuration turns mTLS on)
// and --placement-host-address localhost:50005.
const (
	CLISentryPort    = 50001
	cliPlacementPort = 50005
	// Placement's health and metrics ports are ours to choose: below the
	// ephemeral range, where no outgoing connection can take them first.
	cliPlacementHealthPort  = 9097
	cliPlacementMetricsPort = 9098
)

// Ports are the ports a CLI-run stack listens on besides the apps',
// the sidecars' and Sentry's.
func (CLI) Ports() []int {
	return []int{cliPlacementPort, cliPlacementHealthPort, cliPlacementMetricsPort}
}

// cli is what a CLI-run stack started besides Sentry.
type cli struct {
	runFile   string
	dapr      *process // `dapr run -f`
	placement *process
}

// startCLI starts placement and then `dapr run -f` over the rendered run
// file. Under the CLI every sidecar gets the CLI's own environment, so all
// of them share one app token and one API token (make run gives each app
// its own).
func (s *Stack) startCLI(ctx context.Context) error {
	o := s.opts
	if o.Sentry.GRPC != CLISentryPort {
		return fmt.Errorf("under the Dapr CLI, Sentry must listen on %d (the CLI's fixed address), not %d", CLISentryPort, o.Sentry.GRPC)
	}
	placement, err := startProcess("placement", o.CLI.Placement, []string{
		"--port", strconv.Itoa(cliPlacementPort), "--listen-address", "127.0.0.1",
		"--healthz-port", strconv.Itoa(cliPlacementHealthPort), "--healthz-listen-address", "127.0.0.1",
		"--metrics-port", strconv.Itoa(cliPlacementMetricsPort), "--metrics-listen-address", "127.0.0.1",
		"--log-as-json",
	}, baseEnv(), s.LogFile("placement"))
	if err != nil {
		return err
	}
	s.cli = &cli{placement: placement, runFile: filepath.Join(o.RunDir, "dapr.yaml")}
	shared := &node{appToken: randomToken(), apiToken: randomToken()}
	err = renderRunFile(filepath.Join(o.Root, "dapr", "dapr.yaml"), s.cli.runFile, func(app string, m map[string]any) error {
		p, ok := o.Ports[app]
		if !ok {
			return fmt.Errorf("no ports for %q", app)
		}
		dir, _ := m["appDirPath"].(string)
		m["appDirPath"] = filepath.Join(o.Root, "dapr", dir)
		m["configFilePath"] = s.res.ConfigFile(app)
		m["command"] = []string{o.Bins.app(app)}
		m["appPort"], m["daprHTTPPort"], m["daprGRPCPort"] = p.App, p.HTTP, p.GRPC
		m["daprInternalGRPCPort"], m["metricsPort"] = p.Internal, p.Metrics
		env := map[string]string{}
		for _, kv := range s.appEnv(app, p, shared) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		m["env"] = env
		return nil
	}, s.res.ResourcesDir)
	if err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	runtime := filepath.Join(o.RunDir, "runtime")
	if err := linkDaprd(runtime, o.Bins.Daprd); err != nil {
		return err
	}
	env := append(s.daprdEnv(shared), "DAPR_RUNTIME_PATH="+runtime)
	s.cli.dapr, err = startProcess("dapr", o.CLI.Dapr, []string{"run", "-f", s.cli.runFile}, env, s.LogFile("dapr-cli"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return waitHTTP(ctx, placement, fmt.Sprintf("http://127.0.0.1:%d/healthz", cliPlacementHealthPort), nil)
}

// renderRunFile writes src, the committed run file, to dst with each app's
// entry changed by edit and the resources paths replaced.
func renderRunFile(src, dst string, edit func(app string, entry map[string]any) error, resources ...string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var file map[string]any
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	common, _ := file["common"].(map[string]any)
	apps, _ := file["apps"].([]any)
	if common == nil || len(apps) == 0 {
		return fmt.Errorf("%s: want common and apps", src)
	}
	common["resourcesPaths"] = resources
	for _, a := range apps {
		entry, _ := a.(map[string]any)
		app, _ := entry["appID"].(string)
		if app == "" {
			return fmt.Errorf("%s: an app without appID", src)
		}
		if err := edit(app, entry); err != nil {
			return fmt.Errorf("%s: %s: %w", src, app, err)
		}
	}
	out, err := yaml.Marshal(file)
	if err != nil {
		return err
	}
	// It holds the tokens: for the launcher's user only.
	return os.WriteFile(dst, out, 0o600)
}

// linkDaprd makes runtime the folder the CLI looks for daprd in
// (runtime/.dapr/bin/daprd, DAPR_RUNTIME_PATH), holding ours.
func linkDaprd(runtime, daprd string) error {
	bin := filepath.Join(runtime, ".dapr", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(daprd)
	if err != nil {
		return err
	}
	link := filepath.Join(bin, "daprd")
	os.Remove(link)
	return os.Symlink(abs, link)
}

// stop asks the CLI to stop its apps (`dapr stop -f`), then ends it and
// placement. The CLI can hang when a daprd exits fatally and then ignores
// SIGTERM, and what it started is not its launcher's child: whatever is
// left in its process group is killed.
func (c *cli) stop(dapr string) error {
	var errs []error
	if c.dapr != nil && !c.dapr.exited() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, dapr, "stop", "-f", c.runFile).CombinedOutput()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("dapr stop: %w: %s", err, out))
		}
		if err := c.dapr.stop(20 * time.Second); err != nil {
			errs = append(errs, err)
		}
		// The CLI's children run in its process group (Setpgid).
		if err := syscall.Kill(-c.dapr.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill the CLI's process group: %w", err))
		}
	}
	return errors.Join(append(errs, stopProc(c.placement))...)
}
