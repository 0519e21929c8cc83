// Package admission bounds how much of one kind of work runs at once. Work past
// the bound waits in a bounded queue (until its context ends); past the
// queue it is refused at once, so that overload is answered with a quick
// "busy" instead of a pile-up that times everything out.
package admission

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
)

// ErrBusy refuses work the gate cannot take now: its slots are taken and
// its queue is full, or the work's context ended while it waited.
var ErrBusy = errors.New("too much of this work in progress")

// Gate runs at most its concurrency at once.
type Gate struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	refuse  func() bool
}

// New allows concurrency runs at once and queue more waiting; concurrency
// 0 means one per CPU.
func New(concurrency, queue int) *Gate {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Gate{slots: make(chan struct{}, concurrency), queue: int64(max(queue, 0))}
}

// Waiting is how much work waits for a slot now.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }

// RefuseWhile makes g refuse all work while refuse says so (Lag.Behind),
// whatever its slots; it returns g.
func (g *Gate) RefuseWhile(refuse func() bool) *Gate {
	g.refuse = refuse
	return g
}

// Run runs fn in a slot, waiting for one while the queue has room and ctx
// lasts; otherwise, or while the gate refuses, it returns ErrBusy without
// running fn.
func (g *Gate) Run(ctx context.Context, fn func() error) error {
	if g.refuse != nil && g.refuse() {
		return ErrBusy
	}
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ErrBusy
		}
	}
	defer func() { <-g.slots }()
	return fn()
}
