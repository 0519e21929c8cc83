package stack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The committed run file is what CLI users read: it names every app, its
// Configuration and binary, on make run's documented ports.
func TestRunFileMatchesTheDocumentedLayout(t *testing.T) {
	root := repoRoot(t)
	ports, _ := FixedPorts()
	var seen []string
	err := renderRunFile(filepath.Join(root, "dapr", "dapr.yaml"), filepath.Join(t.TempDir(), "dapr.yaml"), func(app string, m map[string]any) error {
		seen = append(seen, app)
		p := ports[app]
		assert.Equal(t, []any{p.App, p.HTTP, p.GRPC, p.Internal, p.Metrics},
			[]any{m["appPort"], m["daprHTTPPort"], m["daprGRPCPort"], m["daprInternalGRPCPort"], m["metricsPort"]}, app)
		assert.Equal(t, "./config/"+app+".yaml", m["configFilePath"], app)
		dir := filepath.Join(root, "dapr", m["appDirPath"].(string))
		assert.DirExists(t, dir, app)
		cmd, _ := m["command"].([]any)
		require.Len(t, cmd, 1, app)
		assert.Equal(t, filepath.Join(root, "bin", app), filepath.Join(dir, cmd[0].(string)), "%s runs what make build made", app)
		return nil
	}, "/rendered")
	require.NoError(t, err)
	assert.Equal(t, Apps, seen)
}

func TestRenderedRunFileCarriesTheRunsPathsAndSettings(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "dapr.yaml")
	err := renderRunFile(filepath.Join(repoRoot(t), "dapr", "dapr.yaml"), dst, func(app string, m map[string]any) error {
		m["configFilePath"] = "/run/config/" + app + ".yaml"
		m["env"] = map[string]string{"APP": app}
		return nil
	}, "/run/resources")
	require.NoError(t, err)
	raw, err := os.ReadFile(dst)
	require.NoError(t, err)
	var file struct {
		Common struct {
			ResourcesPaths []string `yaml:"resourcesPaths"`
			AppProtocol    string   `yaml:"appProtocol"`
		}
		Apps []struct {
			AppID          string            `yaml:"appID"`
			ConfigFilePath string            `yaml:"configFilePath"`
			Env            map[string]string `yaml:"env"`
		}
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	assert.Equal(t, []string{"/run/resources"}, file.Common.ResourcesPaths)
	assert.Equal(t, "http", file.Common.AppProtocol, "the rest of common stays")
	require.Len(t, file.Apps, len(Apps))
	for _, a := range file.Apps {
		assert.Equal(t, "/run/config/"+a.AppID+".yaml", a.ConfigFilePath)
		assert.Equal(t, map[string]string{"APP": a.AppID}, a.Env)
	}
	info, err := os.Stat(dst)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "it holds the run's tokens")
}

func TestRenderTurnsMTLSOnForTheCLI(t *testing.T) {
	res, err := render(repoRoot(t), t.TempDir(), Backing{}, renderOptions{NameResolution: "/x/nr.db", MTLSInConfig: true})
	require.NoError(t, err)
	for _, app := range Apps {
		raw, err := os.ReadFile(res.ConfigFile(app))
		require.NoError(t, err)
		var cfg struct {
			Spec struct {
				MTLS struct {
					Enabled bool `yaml:"enabled"`
				} `yaml:"mtls"`
			}
		}
		require.NoError(t, yaml.Unmarshal(raw, &cfg), app)
		assert.True(t, cfg.Spec.MTLS.Enabled, app)
	}
}
