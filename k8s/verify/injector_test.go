// Package verify checks the Kubernetes manifests against what the pinned
// Dapr runtime will do with them. Its own module, so that the Dapr runtime's
// dependencies never enter the platform's.
//
// `make verify-k8s` renders the overlays with kubectl kustomize and runs
// this with K8S_MANIFESTS naming the rendered files.
package verify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dapr/dapr/pkg/injector/patcher"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// apps are the programs and their ports; each has a Deployment.
var apps = map[string]int{"gateway": 4000, "auth": 4001, "user": 4002, "product": 4003, "inventory": 4004}

// rendered holds each rendered file's Deployments and the names of its
// Dapr Configurations.
type rendered struct {
	deployments    []appsv1.Deployment
	configurations map[string]bool
}

func renderedFiles(t *testing.T) map[string]rendered {
	t.Helper()
	files := strings.Split(os.Getenv("K8S_MANIFESTS"), ",")
	if files[0] == "" {
		t.Skip("K8S_MANIFESTS names no rendered manifests (make verify-k8s sets it)")
	}
	out := map[string]rendered{}
	for _, f := range files {
		r := rendered{configurations: map[string]bool{}}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for {
			doc, err := dec.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			var head struct {
				Kind     string
				Metadata struct{ Name string }
			}
			require.NoError(t, yaml.Unmarshal(doc, &head))
			switch head.Kind {
			case "Configuration":
				r.configurations[head.Metadata.Name] = true
			case "Deployment":
				var d appsv1.Deployment
				require.NoError(t, yaml.UnmarshalStrict(doc, &d), f)
				r.deployments = append(r.deployments, d)
			}
		}
		out[f] = r
	}
	return out
}

// injected is the pod Dapr's sidecar injector would make of d's template, as
// the control plane installed by Helm configures it (mTLS on).
func injected(t *testing.T, d appsv1.Deployment) (*corev1.Pod, *patcher.SidecarConfig) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec}
	pod.Namespace = d.Namespace
	c := patcher.NewSidecarConfig(pod)
	c.SetFromPodAnnotations()
	c.Namespace = d.Namespace
	c.MTLSEnabled = true
	c.Identity = d.Namespace + ":" + pod.Spec.ServiceAccountName
	c.SentryAddress = "dapr-sentry.dapr-system.svc.cluster.local:443"
	c.OperatorAddress = "dapr-api.dapr-system.svc.cluster.local:443"
	c.ControlPlaneNamespace = "dapr-system"
	c.ControlPlaneTrustDomain = "cluster.local"
	c.KubeClusterDomain = "cluster.local"
	c.CurrentTrustAnchors = []byte("trust anchors")
	if c.SidecarImage == "" {
		c.SidecarImage = "ghcr.io/dapr/daprd:1.18.0"
	}
	patch, err := c.GetPatch()
	require.NoError(t, err, d.Name)
	require.NotEmpty(t, patch, "%s is not injected", d.Name)
	patched, err := patcher.PatchPod(pod, patch)
	require.NoError(t, err, d.Name)
	return patched, c
}

// Every app gets the sidecar it needs: its app id, port and Configuration,
// mTLS, the resources its annotations ask for, both tokens from its own
// Secrets; and the app learns its sidecar's port.
func TestInjectorGivesEveryAppItsSidecar(t *testing.T) {
	for file, r := range renderedFiles(t) {
		seen := map[string]bool{}
		for _, d := range r.deployments {
			port, ok := apps[d.Name]
			if !ok {
				continue // the dev overlay's PostgreSQL and Redis
			}
			seen[d.Name] = true
			t.Run(file+"/"+d.Name, func(t *testing.T) {
				pod, _ := injected(t, d)
				var daprd, app *corev1.Container
				for i := range pod.Spec.Containers {
					switch pod.Spec.Containers[i].Name {
					case "daprd":
						daprd = &pod.Spec.Containers[i]
					case d.Name:
						app = &pod.Spec.Containers[i]
					}
				}
				require.NotNil(t, daprd, "a daprd container")
				require.NotNil(t, app, "the app's container")
				args := daprd.Args
				flag := func(name string) string {
					i := slices.Index(args, name)
					require.True(t, i >= 0 && i+1 < len(args), "daprd gets %s: %v", name, args)
					return args[i+1]
				}
				assert.Equal(t, d.Name, flag("--app-id"))
				assert.Equal(t, strconv.Itoa(port), flag("--app-port"))
				assert.Equal(t, "qeetmart-"+d.Name, flag("--config"))
				assert.True(t, r.configurations[flag("--config")], "its Configuration is in the same manifests")
				assert.Equal(t, "http", flag("--app-protocol"))
				assert.Contains(t, args, "--enable-mtls")
				assert.Contains(t, args, "--enable-app-health-check")
				assert.Equal(t, "/health", flag("--app-health-check-path"))
				assert.Contains(t, args, "--log-as-json")

				assert.True(t, resource.MustParse("100m").Equal(daprd.Resources.Requests[corev1.ResourceCPU]), "cpu request")
				assert.True(t, resource.MustParse("512Mi").Equal(daprd.Resources.Limits[corev1.ResourceMemory]), "memory limit")

				env := map[string]corev1.EnvVar{}
				for _, e := range daprd.Env {
					env[e.Name] = e
				}
				require.Contains(t, env, "APP_API_TOKEN")
				assert.Equal(t, d.Name+"-app-token", env["APP_API_TOKEN"].ValueFrom.SecretKeyRef.Name)
				require.Contains(t, env, "DAPR_API_TOKEN")
				assert.Equal(t, d.Name+"-api-token", env["DAPR_API_TOKEN"].ValueFrom.SecretKeyRef.Name)

				appEnv := map[string]corev1.EnvVar{}
				for _, e := range app.Env {
					appEnv[e.Name] = e
				}
				assert.Equal(t, "3500", appEnv["DAPR_HTTP_PORT"].Value, "the app finds its sidecar")
				assert.Equal(t, d.Name+"-app-token", appEnv["APP_API_TOKEN"].ValueFrom.SecretKeyRef.Name, "the app expects its sidecar's token")
				assert.Equal(t, d.Name+"-api-token", appEnv["DAPR_API_TOKEN"].ValueFrom.SecretKeyRef.Name, "the app sends its own")
				assert.Equal(t, strconv.Itoa(port), appEnv["PORT"].Value)
			})
		}
		for app := range apps {
			assert.True(t, seen[app], "%s has no Deployment for %s", file, app)
		}
	}
}

// The injector reads an annotation only under a key it knows, and drops a
// value it cannot parse without a word. So every dapr.io/* annotation must
// be one of SidecarConfig's keys, and read back exactly as written.
func TestEveryDaprAnnotationIsKnownAndParses(t *testing.T) {
	fields := map[string]int{}
	ct := reflect.TypeOf(patcher.SidecarConfig{})
	for i := range ct.NumField() {
		if key := ct.Field(i).Tag.Get("annotation"); key != "" {
			fields[key] = i
		}
	}
	require.NotEmpty(t, fields)
	for file, r := range renderedFiles(t) {
		for _, d := range r.deployments {
			pod := &corev1.Pod{ObjectMeta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec}
			c := patcher.NewSidecarConfig(pod)
			c.SetFromPodAnnotations()
			v := reflect.ValueOf(c).Elem()
			for key, want := range d.Spec.Template.Annotations {
				if !strings.HasPrefix(key, "dapr.io/") {
					continue
				}
				i, ok := fields[key]
				if !assert.True(t, ok, "%s: %s: %s is no annotation the injector reads", file, d.Name, key) {
					continue
				}
				assert.Equal(t, want, formatted(v.Field(i)), "%s: %s: %s=%q does not read back", file, d.Name, key, want)
			}
		}
	}
}

// formatted is a field's value as the annotation that set it is written.
func formatted(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<unset>"
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.String:
		return v.String()
	}
	return fmt.Sprint(v.Interface())
}
