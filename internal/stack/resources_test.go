package stack

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

func TestRenderPointsComponentsAtTheBackingServers(t *testing.T) {
	out := t.TempDir()
	b := Backing{PGHost: "db.local", PGPort: "6543", PGUser: "qm", PGPassword: "pw", RedisHost: "cache.local:7000", RedisPassword: "rpw"}
	res, err := render(repoRoot(t), out, b, renderOptions{DBPrefix: "t1_", NameResolution: "/x/nr.db"})
	require.NoError(t, err)

	assert.Equal(t, []string{"t1_auth", "t1_inventory", "t1_product", "t1_user"}, res.Databases)

	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join(res.ResourcesDir, name))
		require.NoError(t, err)
		return string(raw)
	}
	auth := read("statestore-auth.yaml")
	assert.Contains(t, auth, "host=db.local port=6543 user=qm dbname=t1_auth sslmode=disable password=pw")
	assert.Contains(t, auth, "- auth", "scopes survive")

	cache := read("statestore-inventory-cache.yaml")
	assert.Contains(t, cache, "cache.local:7000")
	assert.Contains(t, cache, "rpw")
	assert.NotContains(t, cache, "127.0.0.1:6379")

	assert.Contains(t, read("pubsub.yaml"), "cache.local:7000")
	assert.Contains(t, read("gateway.yaml"), "kind: Resiliency")

	for _, app := range Apps {
		cfg, err := os.ReadFile(res.ConfigFile(app))
		require.NoError(t, err, "every app has its own sidecar Configuration")
		assert.Contains(t, string(cfg), `connectionString: "/x/nr.db"`, app)
		assert.Contains(t, string(cfg), "accessControl", app)
		assert.Contains(t, string(cfg), "name: qeetmart-"+app, app)
	}

	info, err := os.Stat(filepath.Join(res.ResourcesDir, "statestore-auth.yaml"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "rendered files hold passwords")
}

func TestRenderWithoutPrefixesKeepsTheCommittedNames(t *testing.T) {
	res, err := render(repoRoot(t), t.TempDir(), BackingFromEnv(func(string) string { return "" }), renderOptions{NameResolution: "nr.db"})
	require.NoError(t, err)
	assert.Equal(t, []string{"auth", "inventory", "product", "user"}, res.Databases)
	raw, err := os.ReadFile(filepath.Join(res.ResourcesDir, "statestore-inventory-cache.yaml"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(raw), "value: appid"))
}

// A sampling rate below 1 reaches every sidecar's Configuration; unset, the
// committed "1" stays.
func TestRenderSetsTheSamplingRate(t *testing.T) {
	for rate, want := range map[string]string{"0.1": `samplingRate: "0.1"`, "": `samplingRate: "1"`} {
		res, err := render(repoRoot(t), t.TempDir(), BackingFromEnv(func(string) string { return "" }), renderOptions{NameResolution: "nr.db", SamplingRate: rate})
		require.NoError(t, err)
		for _, app := range Apps {
			cfg, err := os.ReadFile(res.ConfigFile(app))
			require.NoError(t, err)
			assert.Contains(t, string(cfg), want, app)
		}
	}
}

// Metrics turned off reach every sidecar's Configuration; by default they
// stay on.
func TestRenderTurnsDaprMetricsOff(t *testing.T) {
	for _, off := range []bool{true, false} {
		res, err := render(repoRoot(t), t.TempDir(), BackingFromEnv(func(string) string { return "" }), renderOptions{NameResolution: "nr.db", NoDaprMetrics: off})
		require.NoError(t, err)
		for _, app := range Apps {
			raw, err := os.ReadFile(res.ConfigFile(app))
			require.NoError(t, err)
			var cfg struct {
				Spec struct{ Metrics struct{ Enabled bool } }
			}
			require.NoError(t, yaml.Unmarshal(raw, &cfg))
			assert.Equal(t, !off, cfg.Spec.Metrics.Enabled, app)
		}
	}
}

func TestDSNField(t *testing.T) {
	tests := []struct{ dsn, key, want string }{
		{"host=a dbname=auth sslmode=disable", "dbname", "auth"},
		{"host=a", "dbname", ""},
		{"", "dbname", ""},
		{"dbname=", "dbname", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, dsnField(tt.dsn, tt.key), tt.dsn)
	}
}

func TestFixedPortsAreUnique(t *testing.T) {
	ports, sentry := FixedPorts()
	seen := map[int]string{}
	add := func(p int, who string) {
		if prev, dup := seen[p]; dup {
			t.Errorf("port %d used by %s and %s", p, prev, who)
		}
		seen[p] = who
	}
	add(sentry.GRPC, "sentry")
	add(sentry.Health, "sentry health")
	add(sentry.Metrics, "sentry metrics")
	for app, p := range ports {
		for _, port := range []int{p.App, p.HTTP, p.GRPC, p.Internal, p.Metrics, p.Admin} {
			add(port, app)
		}
	}
	assert.Equal(t, 4000, ports["gateway"].App)
}

func TestPrivateRedisIsItsOwnServer(t *testing.T) {
	dir := t.TempDir()
	p, addr, err := startRedis(t.Context(), dir, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = stopProc(p) })
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("PING\r\n"))
	require.NoError(t, err)
	reply := make([]byte, 7)
	_, err = io.ReadFull(conn, reply)
	require.NoError(t, err)
	assert.Equal(t, "+PONG\r\n", string(reply))
	assert.NotEqual(t, "127.0.0.1:6379", addr)
}

// Each sidecar serves only the Dapr APIs its app uses, on HTTP and gRPC
// alike (daprd serves every gRPC API when the list names none for gRPC).
func TestEachSidecarAllowsOnlyWhatItsAppUses(t *testing.T) {
	want := map[string][]string{
		"gateway":   {"invoke"},
		"auth":      {"state"},
		"user":      {"state"},
		"product":   {"state"},
		"inventory": {"state"},
	}
	// Over HTTP only: the product's relay publishes its catalog events, the
	// inventory's relay its stock events.
	wantHTTP := map[string][]string{"product": {"state", "publish"}, "inventory": {"state", "publish"}}
	for _, app := range Apps {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), "dapr", "config", app+".yaml"))
		require.NoError(t, err)
		var cfg struct {
			Spec struct {
				API struct {
					Allowed []struct{ Name, Version, Protocol string }
					Denied  []struct{ Name string }
				}
			}
		}
		require.NoError(t, yaml.Unmarshal(raw, &cfg), app)
		byProtocol := map[string][]string{}
		for _, a := range cfg.Spec.API.Allowed {
			assert.Equal(t, "v1", a.Version, app)
			byProtocol[a.Protocol] = append(byProtocol[a.Protocol], a.Name)
		}
		http := want[app]
		if w, ok := wantHTTP[app]; ok {
			http = w
		}
		assert.Equal(t, http, byProtocol["http"], app)
		assert.Equal(t, want[app], byProtocol["grpc"], app)
	}
}

// The chaos run restarts a PostgreSQL of the stack's own, never the
// machine's; it must come back with what was committed.
func TestPrivatePostgresSurvivesARestart(t *testing.T) {
	// One level under the temporary directory, as a stack's run folder is
	// (its account must reach the cluster through it).
	dir, err := os.MkdirTemp("", "qeetmart-postgres-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Stack{opts: Options{RunDir: dir}}
	port, err := FreePort()
	require.NoError(t, err)
	s.postgres, err = startPostgres(t.Context(), dir, port)
	require.NoError(t, err)
	t.Cleanup(func() { _ = stopProc(s.postgres) })
	s.opts.Backing = Backing{PGHost: "127.0.0.1", PGPort: strconv.Itoa(port), PGUser: "postgres"}
	query := func(sql string) string {
		conn, err := pgx.Connect(t.Context(), s.opts.Backing.DSN("postgres"))
		require.NoError(t, err)
		defer conn.Close(t.Context())
		var out string
		require.NoError(t, conn.QueryRow(t.Context(), sql).Scan(&out))
		return out
	}
	conn, err := pgx.Connect(t.Context(), s.opts.Backing.DSN("postgres"))
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE TABLE kept AS SELECT 'committed' AS v")
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))
	require.NoError(t, s.RestartPostgres(t.Context()))
	assert.Equal(t, "committed", query("SELECT v FROM kept"))
	assert.NotEqual(t, "5432", s.opts.Backing.PGPort)
}
