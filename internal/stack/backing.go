package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// RestartRedis kills the stack's private Redis (kill -9) and starts it
// again on the same port. With keepData it comes back with what its
// append-only file held (writes of the last second may be gone, as after
// any crash of a Redis that syncs every second); without, empty: the event
// streams and the inventory's cache are gone, as after the crash of a Redis
// that keeps nothing on disk.
func (s *Stack) RestartRedis(ctx context.Context, keepData bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.redis == nil {
		return errors.New("this stack has no private Redis")
	}
	if err := s.redis.kill(); err != nil {
		return err
	}
	if !keepData {
		if err := os.RemoveAll(redisDir(s.opts.RunDir)); err != nil {
			return err
		}
	}
	_, port, _ := net.SplitHostPort(s.opts.Backing.RedisHost)
	n, _ := strconv.Atoi(port)
	p, _, err := startRedis(ctx, s.opts.RunDir, n)
	if err != nil {
		return err
	}
	s.redis = p
	return nil
}

func redisDir(runDir string) string { return filepath.Join(runDir, "redis") }

// startRedis runs a redis-server of the stack's own on port (0: a free one)
// of loopback, its append-only file in runDir, and waits until it accepts
// connections.
func startRedis(ctx context.Context, runDir string, port int) (*process, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("a private Redis needs redis-server (scripts/deps.sh installs it): %w", err)
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, "", err
		}
	}
	dir := redisDir(runDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p, err := startProcess("redis", bin, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"},
		baseEnv(), filepath.Join(runDir, "redis.log"))
	if err != nil {
		return nil, "", err
	}
	ready := func(ctx context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := waitServing(ctx, p, ready); err != nil {
		return nil, "", fmt.Errorf("redis-server on %s did not start (log: %s): %w", addr, filepath.Join(runDir, "redis.log"), err)
	}
	return p, addr, nil
}

// RestartPostgres stops the stack's private PostgreSQL as a crash would
// (immediate shutdown: no checkpoint, every connection cut) and starts it
// again on the same port; it recovers from its write-ahead log.
func (s *Stack) RestartPostgres(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.postgres == nil {
		return errors.New("this stack has no private PostgreSQL")
	}
	// SIGQUIT is PostgreSQL's immediate shutdown; the postmaster waits for
	// its backends, so the port and shared memory are free once it is gone.
	if err := s.postgres.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w", err)
	}
	select {
	case <-s.postgres.done:
	case <-time.After(30 * time.Second):
		if err := s.postgres.kill(); err != nil {
			return err
		}
	}
	port, _ := strconv.Atoi(s.opts.Backing.PGPort)
	p, err := startPostgres(ctx, s.opts.RunDir, port)
	if err != nil {
		return err
	}
	s.postgres = p
	return nil
}

// startPostgres runs a PostgreSQL of the stack's own on port of loopback,
// creating its cluster in runDir on first use (trust authentication, user
// postgres), and waits until it accepts queries. Run as root, it runs as the
// postgres account: PostgreSQL refuses root.
func startPostgres(ctx context.Context, runDir string, port int) (*process, error) {
	bindir, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(runDir, "postgres")
	asOwner, chown, err := postgresAccount()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		// The account must reach its directory through runDir.
		if err := errors.Join(os.Chmod(runDir, 0o755), chown(data)); err != nil {
			return nil, err
		}
		initdb := exec.CommandContext(ctx, asOwner[0], slices.Concat(asOwner[1:], []string{filepath.Join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"})...)
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb %s: %w: %s", data, err, out)
		}
	}
	args := slices.Concat(asOwner[1:], []string{filepath.Join(bindir, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"})
	log := filepath.Join(runDir, "postgres.log")
	p, err := startProcess("postgres", asOwner[0], args, baseEnv(), log)
	if err != nil {
		return nil, err
	}
	dsn := Backing{PGHost: "127.0.0.1", PGPort: strconv.Itoa(port), PGUser: "postgres"}.DSN("postgres")
	ready := func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = errors.Join(conn.Ping(ctx), conn.Close(ctx))
		}
		return err
	}
	if err := waitServing(ctx, p, ready); err != nil {
		return nil, errors.Join(fmt.Errorf("PostgreSQL on port %d did not start (log: %s): %w", port, log, err), stopProc(p))
	}
	return p, nil
}

// postgresBinDir finds the newest PostgreSQL server programs (Debian keeps
// them under /usr/lib/postgresql/<version>/bin), or pg_config's.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for _, d := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		return string(out[:len(out)-1]), nil
	}
	return "", errors.New("a private PostgreSQL needs its server programs (Debian: apt-get install postgresql)")
}

// postgresAccount is how to run PostgreSQL's programs: as ourselves, or as
// root through setpriv as the postgres account (exec, no fork, so a signal
// to the process reaches PostgreSQL itself), with chown giving that account
// a directory.
func postgresAccount() (command []string, chown func(string) error, err error) {
	if os.Geteuid() != 0 {
		return []string{"env"}, func(string) error { return nil }, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("PostgreSQL refuses to run as root, and there is no postgres account: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return []string{"setpriv", "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--"},
		func(dir string) error { return os.Chown(dir, uid, gid) }, nil
}

// waitServing polls ready until it succeeds, p exits or 30 s pass.
func waitServing(ctx context.Context, p *process, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		if p.exited() {
			return errors.Join(err, errors.New(p.exitReport()))
		}
		if ctx.Err() != nil {
			return errors.Join(err, stopProc(p))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
