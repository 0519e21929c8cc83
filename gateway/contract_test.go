package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/gateway/apidocs"
	"github.com/qeetmart/qeetmart/gateway/routing"
	"github.com/qeetmart/qeetmart/internal/contract"
)

// The gateway's own routes are in contracts/openapi/gateway.yaml and every
// operation there is served. What it forwards (/api/*, the JWKS) is each
// service's contract, rendered at /docs and checked live there
// (TestDocsShowWhatTheGatewayServes); gateway.yaml describes the
// forwarding generically, as /api/v1/{service}[/{path}].
func TestGatewayServesAsDocumented(t *testing.T) {
	docs, err := apidocs.New(routing.Table)
	require.NoError(t, err)
	g := &gateway{log: slog.New(slog.DiscardHandler), metrics: newMetrics(), docs: docs}
	app := g.routes()

	forwarded := func(op string) bool {
		path := op[strings.Index(op, " ")+1:]
		return strings.HasPrefix(path, "/api/") || path == "/.well-known/jwks.json"
	}
	var own []string
	for _, op := range contract.Registered(app) {
		if !forwarded(op) {
			own = append(own, strings.Replace(op, "/docs/*", "/docs/{asset}", 1))
		}
	}
	documented, err := contract.Operations("..", "gateway")
	require.NoError(t, err)
	var documentedOwn []string
	for _, op := range documented {
		if !forwarded(op) {
			documentedOwn = append(documentedOwn, op)
		}
	}
	require.ElementsMatch(t, documentedOwn, own, "the gateway's own routes and gateway.yaml")
	require.Contains(t, contract.Registered(app), "DELETE /api/*", "and it forwards every method")
}
