package stack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The committed copies for Kubernetes and Compose are exactly what the
// renderer makes of components/ and dapr/ today: edit a source without
// `make k8s` and this fails.
func TestCommittedRendersAreFresh(t *testing.T) {
	root := repoRoot(t)
	k8s, compose := t.TempDir(), t.TempDir()
	require.NoError(t, RenderKubernetes(root, k8s))
	require.NoError(t, RenderCompose(root, compose))
	assertSameTree(t, k8s, filepath.Join(root, "k8s", "base", "dapr"))
	assertSameTree(t, compose, filepath.Join(root, "compose", "dapr"))
	prom, err := os.ReadFile(filepath.Join(root, ComposePrometheus))
	require.NoError(t, err)
	assert.Equal(t, string(PrometheusConfig(ComposeTargets(), "5s")), string(prom), "%s differs from a fresh render: run make k8s", ComposePrometheus)
}

func assertSameTree(t *testing.T, fresh, committed string) {
	t.Helper()
	files := func(dir string) map[string]string {
		out := map[string]string{}
		require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(raw)
			return err
		}))
		return out
	}
	want, got := files(fresh), files(committed)
	for name, text := range want {
		assert.Equal(t, text, got[name], "%s differs from a fresh render: run make k8s", filepath.Join(committed, name))
	}
	for name := range got {
		_, ok := want[name]
		assert.True(t, ok, "%s is not rendered from any source: run make k8s", filepath.Join(committed, name))
	}
}

// resource is what must not differ between make run's Dapr resources and
// the Kubernetes ones: which resource, of what type, for which apps, with
// which settings (their values may move into a Secret).
type resource struct {
	Kind     string
	Name     string
	Type     string
	Version  string
	Scopes   []string
	Metadata []string // names
	APIs     []string // a Configuration's allowed APIs
	Callers  []string // a Configuration's access-control policies' app ids
	Targets  []string // a Resiliency's apps, without their namespace
}

func readResources(t *testing.T, files []string) map[string]resource {
	t.Helper()
	out := map[string]resource{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Kind     string
			Metadata struct{ Name string }
			Scopes   []string
			Spec     struct {
				Type     string
				Version  string
				Metadata []struct{ Name string }
				API      struct {
					Allowed []struct{ Name, Version, Protocol string }
				}
				AccessControl struct {
					Policies []struct {
						AppID string `yaml:"appId"`
					}
				} `yaml:"accessControl"`
				Targets struct{ Apps map[string]any }
			}
		}
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		r := resource{Kind: doc.Kind, Name: doc.Metadata.Name, Type: doc.Spec.Type, Version: doc.Spec.Version, Scopes: doc.Scopes}
		for _, m := range doc.Spec.Metadata {
			r.Metadata = append(r.Metadata, m.Name)
		}
		for _, a := range doc.Spec.API.Allowed {
			r.APIs = append(r.APIs, a.Name+"/"+a.Version+"/"+a.Protocol)
		}
		for _, p := range doc.Spec.AccessControl.Policies {
			r.Callers = append(r.Callers, p.AppID)
		}
		for app := range doc.Spec.Targets.Apps {
			if name, _, namespaced := strings.Cut(app, "."); namespaced {
				app = name + ".<namespace>"
			}
			r.Targets = append(r.Targets, app)
		}
		slices.Sort(r.Targets)
		require.NotEmpty(t, r.Name, f)
		out[r.Kind+"/"+r.Name] = r
	}
	return out
}

// Kubernetes runs the same Dapr resources as make run: same names, types,
// scopes and metadata keys, the same API allow-lists and callers.
func TestKubernetesRunsTheSameDaprResources(t *testing.T) {
	root := repoRoot(t)
	srcs, err := sources(root)
	require.NoError(t, err)
	var sourceFiles []string
	for _, s := range srcs {
		sourceFiles = append(sourceFiles, s.path)
	}
	k8sFiles, err := filepath.Glob(filepath.Join(root, "k8s", "base", "dapr", "*.yaml"))
	require.NoError(t, err)
	k8sFiles = slices.DeleteFunc(k8sFiles, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })

	local, k8s := readResources(t, sourceFiles), readResources(t, k8sFiles)
	assert.Equal(t, local, k8s)
	assert.Len(t, k8s, len(sourceFiles))

	// And the base lists every one of them.
	kustomization, err := os.ReadFile(filepath.Join(root, "k8s", "base", "dapr", "kustomization.yaml"))
	require.NoError(t, err)
	for _, f := range k8sFiles {
		assert.Contains(t, string(kustomization), "- "+filepath.Base(f)+"\n")
	}
}

// No Kubernetes component carries a connection string or a Redis address
// in the clear: they come from the backing Secret.
func TestKubernetesComponentsTakeCredentialsFromTheSecret(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "k8s", "base", "dapr", "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		text := string(raw)
		assert.NotContains(t, text, "127.0.0.1", f)
		assert.NotContains(t, text, "nameResolution", f)
		if strings.Contains(text, "connectionString") || strings.Contains(text, "redisHost") {
			assert.Contains(t, text, "secretKeyRef: {name: "+BackingSecret, f)
			assert.Contains(t, text, "secretStore: kubernetes", f)
		}
	}
}
