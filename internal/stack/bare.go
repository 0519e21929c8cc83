package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// BarePair is the ceiling the gateway benchmark measures the platform
// against: two daprd of the same binary with nothing of QeetMart's
// configuration (no mTLS, no tracing, no resiliency, no access control, no
// API allow-list), the caller invoking a stub app behind the callee, as the
// gateway's sidecar invokes a service's.
type BarePair struct {
	URL    string      // a GET of the stub's /products/1 through both sidecars
	Header http.Header // the caller's API token, as an app would present it
	PIDs   map[string]int
	procs  []*process
}

// bareConfig is the pair's only Configuration: SQLite name resolution (no
// multicast here) and nothing else; tracing is off (rate 0).
const bareConfig = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: bare
spec:
  tracing:
    samplingRate: "0"
  nameResolution:
    component: sqlite
    configuration:
      connectionString: %q
      cleanupInterval: "0"
`

// StartBarePair starts the stub (stubEnv added to its environment) behind
// one daprd and a second daprd that calls it, in dir, and waits until a
// call goes through.
func StartBarePair(ctx context.Context, daprd, stub, dir string, stubEnv ...string) (*BarePair, error) {
	caller, err := FreePorts()
	if err != nil {
		return nil, err
	}
	callee, err := FreePorts() // its App port is the stub's
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "bare.yaml")
	resources := filepath.Join(dir, "bare-resources")
	if err := os.MkdirAll(resources, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(config, fmt.Appendf(nil, bareConfig, filepath.Join(dir, "bare-nameresolution.db")), 0o644); err != nil {
		return nil, err
	}
	appToken, apiToken := randomToken(), randomToken()
	sidecar := func(appID string, p Ports, appPort int) []string {
		args := []string{"--mode", "standalone", "--app-id", appID,
			"--dapr-listen-addresses", "127.0.0.1",
			"--dapr-http-port", strconv.Itoa(p.HTTP), "--dapr-grpc-port", strconv.Itoa(p.GRPC),
			"--dapr-internal-grpc-port", strconv.Itoa(p.Internal), "--dapr-internal-grpc-listen-address", "127.0.0.1",
			"--metrics-port", strconv.Itoa(p.Metrics), "--metrics-listen-address", "127.0.0.1",
			"--resources-path", resources, "--config", config, "--log-level", "warn"}
		if appPort > 0 {
			args = append(args, "--app-port", strconv.Itoa(appPort), "--app-protocol", "http", "--app-channel-address", "127.0.0.1")
		}
		return args
	}
	env := append(baseEnv(), "DAPR_HOST_IP=127.0.0.1", "NAMESPACE=default", "APP_API_TOKEN="+appToken, "DAPR_API_TOKEN="+apiToken)
	b := &BarePair{PIDs: map[string]int{}}
	start := func(name, bin string, args, env []string) error {
		p, err := startProcess(name, bin, args, env, filepath.Join(dir, name+".log"))
		if err != nil {
			return err
		}
		b.procs = append(b.procs, p)
		b.PIDs[name] = p.cmd.Process.Pid
		return nil
	}
	stubEnv = append(append(baseEnv(), stubEnv...), "HOST=127.0.0.1", "PORT="+strconv.Itoa(callee.App),
		"DAPR_HTTP_PORT="+strconv.Itoa(callee.HTTP), "DAPR_GRPC_PORT="+strconv.Itoa(callee.GRPC),
		"APP_API_TOKEN="+appToken, "DAPR_API_TOKEN="+apiToken, "LOG_LEVEL=warn", "ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(callee.Admin))
	err = errors.Join(
		start("bare stub", stub, nil, stubEnv),
		start("bare callee daprd", daprd, sidecar("bare-callee", callee, callee.App), env),
		start("bare caller daprd", daprd, sidecar("bare-caller", caller, 0), env))
	if err != nil {
		b.Stop()
		return nil, err
	}
	b.URL = fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/bare-callee/method/products/1", caller.HTTP)
	b.Header = http.Header{"Dapr-Api-Token": {apiToken}}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitHTTP(ctx, b.procs[2], b.URL, b.Header); err != nil {
		b.Stop()
		return nil, fmt.Errorf("bare pair (logs in %s): %w", dir, err)
	}
	return b, nil
}

// Stop ends the pair and its stub.
func (b *BarePair) Stop() {
	for _, p := range b.procs {
		_ = p.stop(5 * time.Second)
	}
}
