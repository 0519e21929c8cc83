package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv"
)

// `make run` honours configuration: the stack is started from a .env file
// (and the environment, which wins over it) exactly as tools/stack does,
// and the admin it names exists and can act.
func TestMakeRunSettingsReachTheApps(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env.example"), example, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(
		"AUTH_ADMIN_EMAIL=boss@example.com\nAUTH_ADMIN_PASSWORD=the password in .env\nAUTH_RATE_LIMIT_BURST=1000\n"), 0o600))
	environment := map[string]string{"AUTH_ADMIN_PASSWORD": "the password from the environment"}
	settings, err := stack.LoadSettings(dir, func(k string) string { return environment[k] })
	require.NoError(t, err)

	env := testenv.Start(t, stack.Apps, testenv.WithSettings(settings))
	waitFor(t, "the gateway to hold auth's keys", func() bool {
		return do(t, env, call{method: http.MethodGet, path: "/.well-known/jwks.json"}).status == http.StatusOK
	})
	c := authClient{t: t, env: env, ip: "198.51.100.60"}
	assert.Equal(t, http.StatusUnauthorized, c.login("boss@example.com", "the password in .env").status, "the environment wins over .env")
	admin := c.mustLogin("boss@example.com", "the password from the environment")
	a := c.get("/api/v1/auth/users?page=0&size=10", admin.AccessToken)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Contains(t, string(a.body), `"role":"ADMIN"`)
}
