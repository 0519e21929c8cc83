package stack

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/joho/godotenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env.example"), []byte("A=1\nB=\nC=x\nD=\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("A=from-file\nB=file\nD=\n"), 0o600))
	env := map[string]string{"B": "from-env", "C": "env-c", "UNRELATED": "never passed"}
	s, err := LoadSettings(dir, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, Settings{"A": "from-file", "B": "from-env", "C": "env-c"}, s, "environment wins, empty is unset, only listed names")
	assert.Equal(t, []string{"A=from-file", "B=from-env", "C=env-c"}, s.Env())

	require.NoError(t, os.Remove(filepath.Join(dir, ".env")))
	s, err = LoadSettings(dir, func(string) string { return "" })
	require.NoError(t, err, "no .env is fine")
	assert.Empty(t, s)

	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("TYPO_SETTING=1\n"), 0o600))
	_, err = LoadSettings(dir, func(string) string { return "" })
	assert.ErrorContains(t, err, "TYPO_SETTING", "a misspelt setting is an error, not silently ignored")
}

// Every setting a program reads is in docs/configuration.md and in
// .env.example (except what make run assigns itself), and neither lists a
// setting nobody reads: the three cannot drift apart.
func TestEverySettingIsDocumentedAndListed(t *testing.T) {
	root := repoRoot(t)
	tag := regexp.MustCompile(`env:"([A-Z0-9_]+)"`)
	read := map[string]bool{}
	for _, dir := range []string{"gateway", "services", "internal/platform"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			for _, m := range tag.FindAllStringSubmatch(string(src), -1) {
				read[m[1]] = true
			}
			return err
		}))
	}
	require.NotEmpty(t, read)
	// Read by the launcher and scripts rather than by a program.
	for _, k := range []string{"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "REDIS_HOST", "REDIS_PASSWORD", "RUN_DIR", "DAPR_VERSION", "DAPR_COMPONENTS"} {
		read[k] = true
	}
	assigned := map[string]bool{"HOST": true, "PORT": true, "ADMIN_ADDR": true, "DAPR_HTTP_PORT": true, "APP_API_TOKEN": true, "DAPR_API_TOKEN": true}

	listed, err := godotenv.Read(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	docs, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	require.NoError(t, err)
	for _, name := range slices.Sorted(maps.Keys(read)) {
		assert.True(t, strings.Contains(string(docs), "`"+name+"`"), "docs/configuration.md documents %s", name)
		if !assigned[name] {
			assert.Contains(t, listed, name, ".env.example lists %s", name)
		}
	}
	for name := range listed {
		assert.True(t, read[name], ".env.example lists %s, which nothing reads", name)
	}
}
