package admission

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGateCapsConcurrencyAndQueue(t *testing.T) {
	g := New(1, 1)
	busy := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_ = g.Run(context.Background(), func() error { close(busy); <-release; return nil })
	}()
	<-busy

	queued := make(chan error, 1)
	go func() { queued <- g.Run(context.Background(), func() error { return nil }) }()
	require.Eventually(t, func() bool { return g.waiting.Load() == 1 }, 5*time.Second, time.Millisecond, "the second waits")

	assert.ErrorIs(t, g.Run(context.Background(), func() error { return nil }), ErrBusy, "the third is refused: the queue is full")

	close(release)
	assert.NoError(t, <-queued, "the waiting one runs once the slot is free")
	assert.Equal(t, int64(0), g.waiting.Load())
}

func TestGateWaitEndsWithTheRequest(t *testing.T) {
	g := New(1, 4)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	go func() {
		_ = g.Run(context.Background(), func() error { close(started); <-release; return nil })
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, g.Run(ctx, func() error { return nil }), ErrBusy)
	assert.Equal(t, int64(0), g.waiting.Load(), "a waiter that gives up leaves the queue")
}
