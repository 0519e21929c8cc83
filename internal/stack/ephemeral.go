package stack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Ports handed out by FreePort come from below the kernel's ephemeral range
// (32768 and up by default): a port that ":0" found free can be taken a
// moment later by any outgoing connection (a sidecar's to PostgreSQL, say)
// before daprd binds it.
const (
	portLow  = 20000
	portHigh = 32000
)

var (
	portsMu sync.Mutex
	given   = map[int]bool{} // never hand out one port twice in a process
)

// FreePort returns a loopback TCP port that was free a moment ago and
// outside the ephemeral range.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := portLow + rand.IntN(portHigh-portLow)
		if given[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		given[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free port in %d-%d", portLow, portHigh)
}

// Ephemeral describes a throw-away stack for tests and benchmarks: free
// ports, its own databases and its own Redis (so it never meets another
// stack's data or events), daprd and sentry from root/bin, apps from appDir.
func Ephemeral(root, runDir, appDir string, apps []string) (Options, error) {
	id := fmt.Sprintf("t%d%04d", time.Now().UnixMilli()%1e8, os.Getpid()%1e4)
	o := Options{
		Root:   root,
		RunDir: runDir,
		Bins: Binaries{
			Daprd:  filepath.Join(root, "bin", "daprd"),
			Sentry: filepath.Join(root, "bin", "sentry"),
			AppDir: appDir,
		},
		Apps:         apps,
		Ports:        map[string]Ports{},
		Backing:      BackingFromEnv(os.Getenv),
		DBPrefix:     id + "_",
		PrivateRedis: true,
		LogLevel:     "info",
	}
	for _, b := range []string{o.Bins.Daprd, o.Bins.Sentry} {
		if _, err := os.Stat(b); err != nil {
			return o, fmt.Errorf("%s is missing: run `make dapr` first", b)
		}
	}
	for _, app := range apps {
		var err error
		if o.Ports[app], err = FreePorts(); err != nil {
			return o, err
		}
	}
	free, err := freePortList(3)
	if err != nil {
		return o, err
	}
	o.Sentry = SentryPorts{GRPC: free[0], Health: free[1], Metrics: free[2]}
	return o, nil
}

// FreePorts are ports for one app and its sidecar, none in use.
func FreePorts() (Ports, error) {
	p, err := freePortList(6)
	if err != nil {
		return Ports{}, err
	}
	return Ports{App: p[0], HTTP: p[1], GRPC: p[2], Internal: p[3], Metrics: p[4], Admin: p[5]}, nil
}

// freePortList is n ports FreePort gave.
func freePortList(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		var err error
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	return ports, nil
}

// UseEcho runs the echo test app (bin name "echoapp" in the app dir) as app,
// with extra environment.
func (o *Options) UseEcho(app string, kv ...string) {
	if o.Bins.Apps == nil {
		o.Bins.Apps = map[string]string{}
	}
	o.Bins.Apps[app] = filepath.Join(o.Bins.AppDir, "echoapp")
	o.AddEnv(app, append([]string{"ECHO_APP_ID=" + app}, kv...)...)
}

// AddEnv adds KEY=VALUE settings to app's environment.
func (o *Options) AddEnv(app string, kv ...string) {
	if o.ExtraEnv == nil {
		o.ExtraEnv = map[string][]string{}
	}
	o.ExtraEnv[app] = append(o.ExtraEnv[app], kv...)
}
