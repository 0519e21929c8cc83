// Package components registers the Dapr components QeetMart uses, and no
// others. scripts/build-dapr.sh builds daprd from the pinned dapr module
// with this file in place of its cmd/daprd/components (whose files are each
// behind the allcomponents or stablecomponents tag), so the binary carries
// no cloud SDK it never calls. Every component in components/ and every
// name resolver in dapr/config must be registered here:
// TestTrimmedDaprdRegistersEveryComponentType checks it.
package components

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	pubsubredis "github.com/dapr/components-contrib/pubsub/redis"
	statepostgres "github.com/dapr/components-contrib/state/postgresql/v1"
	stateredis "github.com/dapr/components-contrib/state/redis"
	"github.com/dapr/dapr/pkg/components"
	nameresolution "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsub "github.com/dapr/dapr/pkg/components/pubsub"
	state "github.com/dapr/dapr/pkg/components/state"
)

func init() {
	state.DefaultRegistry.RegisterComponentWithVersions("postgresql", components.Versioning{
		Preferred: components.VersionConstructor{Version: "v1", Constructor: statepostgres.NewPostgreSQLStateStore},
		Default:   "v1",
	})
	state.DefaultRegistry.RegisterComponent(stateredis.NewRedisStateStore, "redis")
	pubsub.DefaultRegistry.RegisterComponent(pubsubredis.NewRedisStreams, "redis")
	nameresolution.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
}
