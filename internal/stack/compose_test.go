package stack

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// docker-compose.yml cannot be run here (no Docker engine), so what can be
// checked without one is: every app is there beside its own sidecar, each
// sidecar names its app, port, Configuration and the rendered resources,
// and every file the Compose file mounts exists.
func TestComposeFileRunsEveryAppBesideItsSidecar(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var file struct {
		Services map[string]struct {
			Build struct {
				Args map[string]string
			}
			NetworkMode string            `yaml:"network_mode"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string
		}
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))

	for _, app := range Apps {
		svc, ok := file.Services[app]
		require.True(t, ok, "service %s", app)
		assert.Equal(t, app, svc.Build.Args["APP"], "%s builds its own program", app)
		sidecar, ok := file.Services[app+"-dapr"]
		require.True(t, ok, "%s has a sidecar", app)
		assert.Equal(t, "service:"+app, sidecar.NetworkMode, "%s's sidecar shares its network namespace", app)

		flag := func(name string) string {
			i := slices.Index(sidecar.Command, name)
			require.True(t, i >= 0 && i+1 < len(sidecar.Command), "%s's sidecar sets %s", app, name)
			return sidecar.Command[i+1]
		}
		assert.Equal(t, app, flag("--app-id"))
		assert.Equal(t, svc.Environment["PORT"], flag("--app-port"), "%s's sidecar calls the port it listens on", app)
		assert.Equal(t, "/dapr/config/"+app+".yaml", flag("--config"))
		assert.FileExists(t, filepath.Join(root, "compose", "dapr", "config", app+".yaml"))
		assert.Equal(t, "/dapr/resources", flag("--resources-path"))
		assert.Contains(t, sidecar.Command, "--enable-mtls", "access control needs mTLS")
		assert.Equal(t, "127.0.0.1", flag("--dapr-listen-addresses"), "%s's sidecar API stays inside its namespace", app)
		assert.Equal(t, svc.Environment["APP_API_TOKEN"], sidecar.Environment["APP_API_TOKEN"], app)
		assert.Equal(t, svc.Environment["DAPR_API_TOKEN"], sidecar.Environment["DAPR_API_TOKEN"], app)
		assert.NotEmpty(t, sidecar.Environment["DAPR_TRUST_ANCHORS"], app)
		_, adminPort, err := net.SplitHostPort(svc.Environment["ADMIN_ADDR"])
		assert.NoError(t, err, "%s sets ADMIN_ADDR", app)
		assert.Equal(t, ComposeTargets().Admin(app), app+":"+adminPort, "%s's admin address is where the observability profile's Prometheus scrapes it", app)
	}
	assert.Equal(t, "0.0.0.0", file.Services["gateway"].Environment["HOST"], "the gateway is public")
	for _, app := range Apps[1:] {
		assert.Empty(t, file.Services[app].Environment["HOST"], "%s listens on loopback only", app)
	}

	// Every file or folder a service mounts from the repository exists
	// (compose/.secrets is made by make build-compose-env).
	for name, svc := range file.Services {
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, "./") || strings.HasPrefix(src, "./compose/.secrets") {
				continue
			}
			_, err := os.Stat(filepath.Join(root, src))
			assert.NoError(t, err, "%s mounts %s", name, src)
		}
	}
}
