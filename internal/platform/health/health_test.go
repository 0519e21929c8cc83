package health

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRun(t *testing.T) {
	ok := Check{Name: "ok", Probe: func(context.Context) error { return nil }}
	down := Check{Name: "down", Probe: func(context.Context) error { return errors.New("connection refused") }}
	slow := Check{Name: "slow", Probe: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}

	tests := []struct {
		name   string
		checks []Check
		wantOK bool
		want   map[string]string
	}{
		{"no checks", nil, true, map[string]string{}},
		{"all pass", []Check{ok}, true, map[string]string{"ok": "ok"}},
		{"one fails", []Check{ok, down}, false, map[string]string{"ok": "ok", "down": "connection refused"}},
		{"one times out", []Check{ok, slow}, false, map[string]string{"ok": "ok", "slow": context.DeadlineExceeded.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, allOK := Run(context.Background(), 50*time.Millisecond, tt.checks)
			assert.Equal(t, tt.wantOK, allOK)
			assert.Equal(t, tt.want, got)
			assert.Less(t, time.Since(start), time.Second, "checks must be bounded by the timeout")
		})
	}
}
