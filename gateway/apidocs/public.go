package apidocs

import (
	"fmt"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/qeetmart/qeetmart/gateway/routing"
)

// publicContract is a service's contract as the public sees it through the
// gateway: its paths under the gateway's public prefixes (the route table
// says which), only those the gateway routes (the service's probes and its
// sidecar's subscription routes are not public), served from the page's
// own origin, and secured by a bearer access token except where the route
// table lets a call through without one. The sidecar's address and token
// are internals, and do not appear.
func publicContract(spec []byte, app string, table []routing.Route) ([]byte, error) {
	return rewrite(spec, func(root *yaml.Node) error { return forThePublic(root, app, table) })
}

func forThePublic(root *yaml.Node, app string, table []routing.Route) error {
	if info := get(root, "info"); info != nil {
		set(info, "description", scalar("QeetMart's "+app+" API, through the gateway. Operations with a lock need an access "+
			"token: log in (POST /api/v1/auth/login), then Authorize with its accessToken."))
	}
	servedHere(root)
	set(root, "security", seq(mapping(bearer, seq())))
	if components := get(root, "components"); components != nil {
		set(components, "securitySchemes", mapping(bearer,
			mapping("type", scalar("http"), "scheme", scalar("bearer"), "bearerFormat", scalar("JWT"),
				"description", scalar("An access token from POST /api/v1/auth/login."))))
	}
	paths := get(root, "paths")
	if paths == nil {
		return fmt.Errorf("no paths")
	}
	public := mapping()
	for i := 0; i+1 < len(paths.Content); i += 2 {
		route, path, ok := publicPath(table, app, paths.Content[i].Value)
		if !ok {
			continue
		}
		item := paths.Content[i+1]
		for j := 0; j+1 < len(item.Content); j += 2 {
			method := strings.ToUpper(item.Content[j].Value)
			if !isMethod(method) {
				continue
			}
			security := seq(mapping(bearer, seq()))
			if route.Public(method, path) {
				security = seq()
			}
			set(item.Content[j+1], "security", security)
		}
		public.Content = append(public.Content, scalar(path), item)
	}
	set(root, "paths", public)
	return nil
}

// publicGateway is gateway.yaml as the public sees it: without the routes
// only its sidecar may call (/dapr/...), served from the page's origin.
func publicGateway(spec []byte) ([]byte, error) {
	return rewrite(spec, func(root *yaml.Node) error {
		servedHere(root)
		if paths := get(root, "paths"); paths != nil {
			public := mapping()
			for i := 0; i+1 < len(paths.Content); i += 2 {
				if !strings.HasPrefix(paths.Content[i].Value, "/dapr/") {
					public.Content = append(public.Content, paths.Content[i], paths.Content[i+1])
				}
			}
			set(root, "paths", public)
		}
		return nil
	})
}

// publicCommon is common.yaml as the public sees it: a 401 is about the
// caller's access token (the gateway's answer), not the sidecar's.
func publicCommon(spec []byte) ([]byte, error) {
	return rewrite(spec, func(root *yaml.Node) error {
		if r := get(get(get(root, "components"), "responses"), "Unauthorized"); r != nil {
			set(r, "description", scalar("No valid access token: missing, malformed, expired or revoked."))
		}
		return nil
	})
}

// rewrite parses an OpenAPI document, lets edit change its root mapping
// in place (keeping the order and style of what it leaves), and writes it
// back.
func rewrite(spec []byte, edit func(root *yaml.Node) error) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not an OpenAPI document")
	}
	if err := edit(doc.Content[0]); err != nil {
		return nil, err
	}
	return yaml.Marshal(&doc)
}

// servedHere makes a document's calls go to the page's own origin: this
// gateway.
func servedHere(root *yaml.Node) {
	set(root, "servers", seq(mapping("url", scalar("/"), "description", scalar("this gateway"))))
}

// bearer names the public security scheme.
const bearer = "bearerAuth"

// publicPath is where the gateway serves app's service-native path.
func publicPath(table []routing.Route, app, path string) (*routing.Route, string, bool) {
	for i := range table {
		r := &table[i]
		rest, ok := strings.CutPrefix(path, r.Upstream)
		if r.App == app && ok && (rest == "" || rest[0] == '/') {
			return r, r.Prefix + rest, true
		}
	}
	return nil, "", false
}

func isMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items, Style: flowIfEmpty(items)}
}

func flowIfEmpty(items []*yaml.Node) yaml.Style {
	if len(items) == 0 {
		return yaml.FlowStyle
	}
	return 0
}

// mapping builds a mapping from alternating keys (strings) and values.
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, scalar(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}
