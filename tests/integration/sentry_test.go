package integration

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

// Sentry serves the CA the stack made before starting it. When Sentry made
// its own, its file watcher took that write for a change two seconds later
// and restarted its gRPC server, and a sidecar asking for its identity in
// that window was refused and exited (seen on a loaded machine).
func TestSentryServesTheStacksCA(t *testing.T) {
	env := testenv.Start(t, []string{"gateway"})
	log, err := os.ReadFile(env.LogFile("sentry"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "Root and issuer certs found")
	assert.NotContains(t, string(log), "Issuer credentials changed")
}
