package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Backing says where PostgreSQL and Redis are. The committed component files
// carry local defaults; these values replace them when the stack starts.
type Backing struct {
	PGHost, PGPort, PGUser, PGPassword string
	RedisHost, RedisPassword           string
}

// BackingFromEnv reads the libpq-style PG* variables and REDIS_HOST /
// REDIS_PASSWORD, with the local defaults documented in the README.
func BackingFromEnv(getenv func(string) string) Backing {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	return Backing{
		PGHost:        or("PGHOST", "127.0.0.1"),
		PGPort:        or("PGPORT", "5432"),
		PGUser:        or("PGUSER", "postgres"),
		PGPassword:    getenv("PGPASSWORD"),
		RedisHost:     or("REDIS_HOST", "127.0.0.1:6379"),
		RedisPassword: getenv("REDIS_PASSWORD"),
	}
}

// DSN is a libpq connection string for database db.
func (b Backing) DSN(db string) string {
	s := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable", b.PGHost, b.PGPort, b.PGUser, db)
	if b.PGPassword != "" {
		s += " password=" + b.PGPassword
	}
	return s
}

// libpqEnv points libpq-style clients (pgx with an empty DSN) at db: a
// service's SQL read models use its own database, named after the app.
func (b Backing) libpqEnv(db string) []string {
	env := []string{"PGHOST=" + b.PGHost, "PGPORT=" + b.PGPort, "PGUSER=" + b.PGUser, "PGDATABASE=" + db, "PGSSLMODE=disable"}
	if b.PGPassword != "" {
		env = append(env, "PGPASSWORD="+b.PGPassword)
	}
	return env
}

// rendered is what render produced.
type rendered struct {
	ResourcesDir string
	ConfigDir    string   // one Configuration per app: <app>.yaml
	Databases    []string // PostgreSQL databases the components use
}

// ConfigFile is the rendered Configuration of app's sidecar.
func (r rendered) ConfigFile(app string) string {
	return filepath.Join(r.ConfigDir, app+".yaml")
}

// renderOptions isolate one stack from another on the same servers.
type renderOptions struct {
	DBPrefix       string // prepended to every database name ("" for make run)
	NameResolution string // path of the SQLite name-resolution file
	// MTLSInConfig turns mTLS on in each Configuration, which is how the
	// Dapr CLI decides to start a sidecar with --enable-mtls.
	MTLSInConfig bool
	// SamplingRate, when set, replaces each Configuration's tracing
	// samplingRate (the committed files say "1").
	SamplingRate string
	// NoDaprMetrics turns each sidecar's metrics off (a benchmark's lever;
	// the committed files keep them on).
	NoDaprMetrics bool
	// header, when set, heads each file written with comment lines naming
	// its source (the committed Compose copies).
	header func(src string) string
}

// source is one file of the single source of Dapr resources.
type source struct {
	kind string // components, resiliency or config
	path string
}

// sources lists every file of the single source under root, which every
// rendering (make run, the CLI, Kubernetes, Compose) starts from.
func sources(root string) ([]source, error) {
	var out []source
	for _, d := range []struct{ kind, dir string }{
		{"components", "components"}, {"resiliency", "dapr/resiliency"}, {"config", "dapr/config"},
	} {
		files, err := filepath.Glob(filepath.Join(root, d.dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no Dapr resources under %s", filepath.Join(root, d.dir))
		}
		for _, f := range files {
			out = append(out, source{d.kind, f})
		}
	}
	return out, nil
}

// render copies components/*.yaml and dapr/resiliency/*.yaml from root into
// outDir/resources and each app's dapr/config/<app>.yaml into outDir/config,
// pointing them at b and applying o. The committed files stay the single
// source of truth for make run, the tests and dapr.yaml.
func render(root, outDir string, b Backing, o renderOptions) (rendered, error) {
	res := rendered{ResourcesDir: filepath.Join(outDir, "resources"), ConfigDir: filepath.Join(outDir, "config")}
	for _, dir := range []string{res.ResourcesDir, res.ConfigDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return res, err
		}
	}
	srcs, err := sources(root)
	if err != nil {
		return res, err
	}
	dbs := map[string]bool{}
	for _, src := range srcs {
		dir, edit := res.ResourcesDir, func(doc *yaml.Node) error { return overrideComponent(doc, b, o, dbs) }
		if src.kind == "config" {
			dir, edit = res.ConfigDir, func(doc *yaml.Node) error { return overrideConfiguration(doc, o) }
		}
		if err := rewriteYAML(src.path, filepath.Join(dir, filepath.Base(src.path)), o.headerFor(root, src.path), edit); err != nil {
			return res, err
		}
	}
	for db := range dbs {
		res.Databases = append(res.Databases, db)
	}
	sort.Strings(res.Databases)
	return res, nil
}

// overrideConfiguration turns mTLS on when the CLI needs it and points the
// name resolution at this stack's own file.
func overrideConfiguration(doc *yaml.Node, o renderOptions) error {
	if o.MTLSInConfig {
		if err := addMapping(lookup(doc, "spec"), "mtls", "enabled", "true"); err != nil {
			return err
		}
	}
	if tracing := lookup(doc, "spec", "tracing"); tracing != nil && o.SamplingRate != "" {
		if err := setMapValue(tracing, "samplingRate", o.SamplingRate); err != nil {
			return err
		}
	}
	if metrics := lookup(doc, "spec", "metrics"); metrics != nil && o.NoDaprMetrics {
		if err := setMapValue(metrics, "enabled", "false"); err != nil {
			return err
		}
	}
	nr := lookup(doc, "spec", "nameResolution", "configuration")
	if nr == nil {
		return nil
	}
	return setMapValue(nr, "connectionString", o.NameResolution)
}

func (o renderOptions) headerFor(root, file string) string {
	if o.header == nil {
		return ""
	}
	rel, err := filepath.Rel(root, file)
	if err != nil {
		rel = file
	}
	return o.header(rel)
}

func overrideComponent(doc *yaml.Node, b Backing, o renderOptions, dbs map[string]bool) error {
	if kind := lookup(doc, "kind"); kind == nil || kind.Value != "Component" {
		return nil
	}
	typ := lookup(doc, "spec", "type")
	meta := lookup(doc, "spec", "metadata")
	if typ == nil || meta == nil {
		return nil
	}
	for _, item := range meta.Content {
		name, value := lookup(item, "name"), lookup(item, "value")
		if name == nil || value == nil {
			continue
		}
		switch {
		case strings.HasPrefix(typ.Value, "state.postgres") && name.Value == "connectionString":
			db := dsnField(value.Value, "dbname")
			if db == "" {
				return fmt.Errorf("%s: connectionString names no dbname", typ.Value)
			}
			dbs[o.DBPrefix+db] = true
			value.Value = b.DSN(o.DBPrefix + db)
		case strings.HasSuffix(typ.Value, ".redis") && name.Value == "redisHost":
			value.Value = b.RedisHost
		case strings.HasSuffix(typ.Value, ".redis") && name.Value == "redisPassword":
			value.Value = b.RedisPassword
		}
	}
	return nil
}

// dsnField returns one key's value from a key=value connection string.
func dsnField(dsn, key string) string {
	for _, kv := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// rewriteYAML writes src to dst as edit changed it, header (comment lines,
// may be empty) first.
func rewriteYAML(src, dst, header string, edit func(*yaml.Node) error) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if len(doc.Content) == 0 {
		return fmt.Errorf("%s: empty document", src)
	}
	if err := edit(doc.Content[0]); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, append([]byte(header), out...), 0o600)
}

// lookup walks mapping keys from n; nil when a key is missing.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

func setMapValue(n *yaml.Node, key, value string) error {
	v := lookup(n, key)
	if v == nil {
		return fmt.Errorf("no key %q to set", key)
	}
	v.Value = value
	return nil
}

// addMapping sets n[key] to a mapping of one key, value (a bool or number
// stays one).
func addMapping(n *yaml.Node, key, k, v string) error {
	if n == nil || n.Kind != yaml.MappingNode {
		return fmt.Errorf("no mapping to add %q to", key)
	}
	if lookup(n, key) != nil {
		return fmt.Errorf("%q is set already", key)
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: k}, {Kind: yaml.ScalarNode, Value: v},
	}})
	return nil
}
