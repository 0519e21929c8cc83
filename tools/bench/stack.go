package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/qeetmart/qeetmart/internal/stack"
)

// benchStack is a throw-away stack for one benchmark, and the processes
// whose CPU time the report accounts for.
type benchStack struct {
	*stack.Stack
	procs processes
	close func()
}

// startStack starts apps (each beside its daprd) from the binaries in bin/,
// after prepare has adjusted their settings, and waits until they are ready.
// The CPU time of each app in measured and of its daprd is tracked. keep
// leaves the run folder (logs) behind and prints its path on Close.
func startStack(ctx context.Context, apps, measured []string, keep bool, stdout io.Writer, prepare func(*stack.Options)) (*benchStack, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	runDir, err := os.MkdirTemp("", "qeetmart-bench-")
	if err != nil {
		return nil, err
	}
	removeRunDir := func() {
		if keep {
			fmt.Fprintln(stdout, "run folder:", runDir)
			return
		}
		os.RemoveAll(runDir)
	}
	o, err := stack.Ephemeral(root, runDir, filepath.Join(root, "bin"), apps)
	if err != nil {
		removeRunDir()
		return nil, err
	}
	o.LogLevel = "warn"
	prepare(&o)
	s, err := stack.Start(ctx, o)
	if err != nil {
		removeRunDir()
		return nil, err
	}
	b := &benchStack{Stack: s, procs: processes{}, close: func() {
		_ = s.Stop()
		_ = stack.DropDatabases(context.Background(), o.Backing, s.Databases())
		removeRunDir()
	}}
	if err := s.WaitReady(ctx, 90*time.Second); err != nil {
		b.Close()
		return nil, err
	}
	for _, app := range measured {
		a, d := s.PIDs(app)
		b.procs[app] = a
		b.procs[app+" daprd"] = d
	}
	return b, nil
}

// Close stops the stack and drops its databases.
func (b *benchStack) Close() { b.close() }
