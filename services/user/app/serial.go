package app

import (
	"context"
	"hash/maphash"
)

// serial queues writes to one key one at a time within this process, so a
// burst on one profile waits its turn here instead of losing ETag races at
// the store, which still decides between replicas. Keys share a fixed set
// of lanes: bounded memory, and two keys rarely wait for each other.
type serial struct {
	seed  maphash.Seed
	lanes [64]chan struct{}
}

func newSerial() *serial {
	s := &serial{seed: maphash.MakeSeed()}
	for i := range s.lanes {
		s.lanes[i] = make(chan struct{}, 1)
	}
	return s
}

// enter waits for key's turn (or for ctx to end); release ends it.
func (s *serial) enter(ctx context.Context, key string) (release func(), err error) {
	lane := s.lanes[maphash.String(s.seed, key)%uint64(len(s.lanes))]
	select {
	case lane <- struct{}{}:
		return func() { <-lane }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
