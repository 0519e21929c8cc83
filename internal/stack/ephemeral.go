package stack

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Ephemeral describes a throw-away stack for tests and benchmarks: free
// ports, its own databases and Redis key prefix (so it never meets another
// stack's data), daprd and sentry from root/bin, apps from appDir.
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
		Apps:           apps,
		Ports:          map[string]Ports{},
		Backing:        BackingFromEnv(os.Getenv),
		DBPrefix:       id + "_",
		RedisKeyPrefix: id,
		LogLevel:       "info",
	}
	for _, b := range []string{o.Bins.Daprd, o.Bins.Sentry} {
		if _, err := os.Stat(b); err != nil {
			return o, fmt.Errorf("%s is missing: run `make dapr` first", b)
		}
	}
	free := make([]int, 0, 6*len(apps)+3)
	for range cap(free) {
		p, err := FreePort()
		if err != nil {
			return o, err
		}
		free = append(free, p)
	}
	next := func() int { p := free[0]; free = free[1:]; return p }
	for _, app := range apps {
		o.Ports[app] = Ports{App: next(), HTTP: next(), GRPC: next(), Internal: next(), Metrics: next(), Admin: next()}
	}
	o.Sentry = SentryPorts{GRPC: next(), Health: next(), Metrics: next()}
	return o, nil
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
