// Package lifecycle is the main function every QeetMart program shares.
package lifecycle

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a program's whole life: it serves until ctx ends. It takes its
// environment and output explicitly, so tests can run it in-process.
type RunFunc func(ctx context.Context, environ []string, stdout io.Writer) error

// Main runs run with the process's environment until SIGINT or SIGTERM, and
// exits non-zero if it fails.
func Main(run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Environ(), os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
