// Package logging builds the structured JSON logger every program uses.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger that tags every line with the program's name.
func New(w io.Writer, level slog.Level, service string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("service", service)
}
