package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/config"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// Probe GETs path from the program itself, on the address it listens on
// (HOST and PORT, else loopback and defaultPort), with the app token its
// sidecar would send, and fails unless the answer is 2xx. A Kubernetes exec
// probe runs it (`<program> probe /ready`), so a service can go on
// listening on loopback, reachable only from inside its pod, and /ready
// stays behind the app token.
func Probe(ctx context.Context, environ []string, defaultPort int, path string) error {
	cfg, err := config.Load[config.Common](environ)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	host, port := cfg.Host, cfg.Port
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = defaultPort
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("probe: path %q must start with /", path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if cfg.AppAPIToken != "" {
		req.Header.Set(web.HeaderDaprAPIToken, cfg.AppAPIToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: %s", path, resp.Status)
	}
	return nil
}

// ProbeMain runs Probe and exits when the program was started as
// `<program> probe <path>`; otherwise it returns at once.
func ProbeMain(defaultPort int) {
	if len(os.Args) != 3 || os.Args[1] != "probe" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := Probe(ctx, os.Environ(), defaultPort, os.Args[2])
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
