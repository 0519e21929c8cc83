package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/joho/godotenv"
)

// Settings is the platform's configuration as `make run` hands it to the
// programs: every setting .env.example names (the documented list, one per
// line), from the launcher's environment, else from a .env file at the
// repository root. An empty value means unset: the program's own default
// applies. The ports, tokens and addresses the stack assigns always win.
type Settings map[string]string

// LoadSettings reads root/.env.example for the names and root/.env (which
// may be missing) for values the environment does not give.
func LoadSettings(root string, getenv func(string) string) (Settings, error) {
	names, err := godotenv.Read(filepath.Join(root, ".env.example"))
	if err != nil {
		return nil, fmt.Errorf("the list of settings: %w", err)
	}
	file, err := godotenv.Read(filepath.Join(root, ".env"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf(".env: %w", err)
	}
	s := Settings{}
	for name := range names {
		if v := getenv(name); v != "" {
			s[name] = v
		} else if v := file[name]; v != "" {
			s[name] = v
		}
	}
	for name := range file {
		if _, listed := names[name]; !listed {
			return nil, fmt.Errorf(".env sets %s, which is no setting of the platform (see .env.example)", name)
		}
	}
	return s, nil
}

// Getenv looks a setting up, for the launcher's own (PG*, REDIS_*, LOG_LEVEL).
func (s Settings) Getenv(name string) string { return s[name] }

// Env is the settings as KEY=VALUE, in a stable order.
func (s Settings) Env() []string {
	env := make([]string, 0, len(s))
	for k, v := range s {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}
