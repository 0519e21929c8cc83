package outbox

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type event struct {
	id string
	at time.Time
}

// queue is a Source in memory: what a service's state holds.
type queue struct{ pending []event }

func (q *queue) Pending(_ context.Context, limit int) ([]event, error) {
	return slices.Clone(q.pending[:min(limit, len(q.pending))]), nil
}

func (q *queue) Forget(_ context.Context, done []event) error {
	q.pending = slices.DeleteFunc(q.pending, func(e event) bool { return slices.Contains(done, e) })
	return nil
}

func TestRelayPublishesOldestFirstThenForgetsAndReportsTheBacklog(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	q := &queue{pending: []event{{"a", t0}, {"b", t0.Add(time.Second)}, {"c", t0.Add(2 * time.Second)}}}
	var published []string
	var backlog []time.Time
	r := Relay[event]{Source: q, Batch: 2, OccurredAt: func(e event) time.Time { return e.at },
		Publish: func(_ context.Context, e event) error { published = append(published, e.id); return nil },
		Backlog: func(oldest time.Time) { backlog = append(backlog, oldest) }}

	full, err := r.Once(t.Context())
	require.NoError(t, err)
	assert.True(t, full)
	assert.Equal(t, []string{"a", "b"}, published)
	assert.Equal(t, []event{{"c", t0.Add(2 * time.Second)}}, q.pending, "published events are forgotten")

	full, err = r.Once(t.Context())
	require.NoError(t, err)
	assert.False(t, full)
	assert.Empty(t, q.pending)
	assert.Equal(t, []time.Time{t0.Add(time.Second), {}}, backlog, "behind after a full pass; nothing pending after the last")
}

func TestRelayKeepsWhatItCouldNotPublish(t *testing.T) {
	q := &queue{pending: []event{{id: "a"}, {id: "b"}, {id: "c"}}}
	down := errors.New("sidecar down")
	reported := false
	r := Relay[event]{Source: q, Batch: 10, OccurredAt: func(e event) time.Time { return e.at },
		Publish: func(_ context.Context, e event) error {
			if e.id == "b" {
				return down
			}
			return nil
		},
		Backlog: func(time.Time) { reported = true }}
	_, err := r.Once(t.Context())
	assert.ErrorIs(t, err, down)
	assert.Equal(t, []event{{id: "b"}, {id: "c"}}, q.pending, "what was published is forgotten; the rest waits, in order")
	assert.False(t, reported, "a relay that cannot publish reports no backlog: writers are not held by an outage of pub/sub")
}
