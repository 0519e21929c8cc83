// Command schemas writes the JSON schemas kubeconform validates k8s/ with,
// generated rather than committed: one per kind, standalone (every $ref
// inlined) and strict (an object with listed properties takes no others),
// named as kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json
// (deployment-apps-v1.json, component-dapr-v1alpha1.json).
//
//	schemas -swagger swagger.json -crds DIR -out DIR
//
// -swagger is the Kubernetes OpenAPI v2 spec (k8s.io/kubernetes's
// api/openapi-spec/swagger.json); -crds a folder of CustomResourceDefinitions
// (the pinned dapr module's charts/dapr/crds).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	swagger := flag.String("swagger", "", "Kubernetes OpenAPI v2 spec")
	crds := flag.String("crds", "", "folder of CustomResourceDefinition YAML files")
	out := flag.String("out", "", "folder to write the schemas to")
	flag.Parse()
	if err := run(*swagger, *crds, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemas:", err)
		os.Exit(1)
	}
}

type schema = map[string]any

func run(swaggerFile, crdDir, out string) error {
	if swaggerFile == "" || crdDir == "" || out == "" {
		return errors.New("usage: schemas -swagger FILE -crds DIR -out DIR")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	raw, err := os.ReadFile(swaggerFile)
	if err != nil {
		return err
	}
	var spec struct{ Definitions map[string]schema }
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %w", swaggerFile, err)
	}
	defs := spec.Definitions
	n := 0
	for name, def := range defs {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk := g.(map[string]any)
			s, err := inline(def, defs, map[string]bool{name: true})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := write(out, gvk["group"].(string), gvk["version"].(string), gvk["kind"].(string), s); err != nil {
				return err
			}
			n++
		}
	}
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		return err
	}
	objectMeta, err := inline(schema{"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}, defs, map[string]bool{})
	if err != nil {
		return err
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd struct {
			Spec struct {
				Group    string
				Names    struct{ Kind string }
				Versions []struct {
					Name   string
					Schema struct {
						OpenAPIV3Schema schema `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range crd.Spec.Versions {
			s := v.Schema.OpenAPIV3Schema
			if props, ok := s["properties"].(map[string]any); ok {
				props["metadata"] = objectMeta
			}
			strict(s)
			if err := write(out, crd.Spec.Group, v.Name, crd.Spec.Names.Kind, s); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return errors.New("no kinds found")
	}
	fmt.Printf("wrote %d schemas to %s\n", n, out)
	return nil
}

// write names the file as kubeconform looks it up: the kind, the first part
// of the group (none for the core group), the version.
func write(out, group, version, kind string, s schema) error {
	name := strings.ToLower(kind)
	if group != "" {
		name += "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	name += "-" + strings.ToLower(version) + ".json"
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, name), raw, 0o644)
}

// inline returns s with every $ref replaced by the definition it names,
// made strict. A type that contains itself (only the CRD schema type does)
// is left open below its first occurrence.
func inline(s schema, defs map[string]schema, seen map[string]bool) (schema, error) {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		def, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("unknown $ref %s", ref)
		}
		if seen[name] {
			return schema{}, nil
		}
		seen[name] = true
		defer delete(seen, name)
		return inline(def, defs, seen)
	}
	if s["format"] == "int-or-string" {
		return schema{"oneOf": []any{schema{"type": "string"}, schema{"type": "integer"}}}, nil
	}
	if isQuantity(s) {
		return schema{"oneOf": []any{schema{"type": "string"}, schema{"type": "number"}}}, nil
	}
	out := schema{}
	for k, v := range s {
		switch k {
		case "description", "x-kubernetes-group-version-kind", "x-kubernetes-list-map-keys",
			"x-kubernetes-list-type", "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy",
			"x-kubernetes-map-type", "x-kubernetes-unions":
			continue
		case "properties":
			props := schema{}
			for name, p := range v.(map[string]any) {
				ps, err := inline(p.(map[string]any), defs, seen)
				if err != nil {
					return nil, err
				}
				props[name] = ps
			}
			out[k] = props
		case "items", "additionalProperties":
			if sub, ok := v.(map[string]any); ok {
				ss, err := inline(sub, defs, seen)
				if err != nil {
					return nil, err
				}
				out[k] = ss
				continue
			}
			out[k] = v
		default:
			out[k] = v
		}
	}
	strict(out)
	return out, nil
}

// isQuantity tells resource.Quantity, which YAML may give as a number.
func isQuantity(s schema) bool {
	d, _ := s["description"].(string)
	return s["type"] == "string" && strings.HasPrefix(d, "Quantity is a fixed-point representation")
}

// strict closes every object that lists its properties, unless it keeps
// unknown fields on purpose.
func strict(s schema) {
	props, ok := s["properties"].(map[string]any)
	if ok {
		if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if ps, ok := p.(map[string]any); ok {
				strict(ps)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if sub, ok := s[k].(map[string]any); ok {
			strict(sub)
		}
	}
}
