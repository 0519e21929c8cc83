package stack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// make dapr builds daprd with tools/daprd's registrations only: every
// component type the resources use (and every name resolver the
// Configurations name) must be one of them, or that daprd would refuse to
// start it. The integration suite runs on that build.
func TestTrimmedDaprdRegistersEveryComponentType(t *testing.T) {
	root := repoRoot(t)
	registered := registrations(t, filepath.Join(root, "tools", "daprd", "components.go"))

	srcs, err := sources(root)
	require.NoError(t, err)
	used := map[string]bool{}
	for _, src := range srcs {
		raw, err := os.ReadFile(src.path)
		require.NoError(t, err)
		var doc struct {
			Kind string
			Spec struct {
				Type           string
				Version        string
				NameResolution struct{ Component string } `yaml:"nameResolution"`
			}
		}
		require.NoError(t, yaml.Unmarshal(raw, &doc), src.path)
		switch {
		case doc.Kind == "Component":
			used[doc.Spec.Type] = true
		case doc.Spec.NameResolution.Component != "":
			used["nameresolution."+doc.Spec.NameResolution.Component] = true
		}
	}
	require.NotEmpty(t, used)
	for kind := range used {
		assert.True(t, registered[kind], "%s is used but tools/daprd does not register it", kind)
	}
	for kind := range registered {
		assert.True(t, used[kind], "tools/daprd registers %s, which nothing uses", kind)
	}
}

// registrations are the component types a registration file registers
// (state.postgresql, pubsub.redis, ...): each
// <kind>.DefaultRegistry.RegisterComponent(constructor, "name") or
// RegisterComponentWithVersions("name", ...).
func registrations(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	require.NoError(t, err)
	out := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		method, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		registry, ok := method.X.(*ast.SelectorExpr)
		if !ok || registry.Sel.Name != "DefaultRegistry" {
			return true
		}
		kind := registry.X.(*ast.Ident).Name
		name := call.Args[len(call.Args)-1]
		if method.Sel.Name == "RegisterComponentWithVersions" {
			name = call.Args[0]
		}
		if lit, ok := name.(*ast.BasicLit); ok {
			s, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			out[kind+"."+s] = true
		}
		return true
	})
	return out
}
