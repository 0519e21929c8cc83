// Package outbox relays the events a service stores in the same state
// transaction as the change they tell of (a transactional outbox of the
// service's own): an event exists if and only if its change committed. A
// relay pass reads the oldest pending events, publishes each through the
// sidecar and then forgets them. At least once: a crash, or a second
// replica's pass, between publishing and forgetting publishes again, with
// the same id, so consumers drop what they have seen.
//
// Why not Dapr's outbox: it publishes every upsert of a transaction (claims
// and holds too) and, per message, waits a second and polls for a marker
// row on the connections the writes use; under a steady import that work
// outgrew the writes until the sidecar spent its time retrying marker
// reads (docs/events.md). Here an event is one row and a pass one query.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Source is where pending events wait: the service's own state.
type Source[E any] interface {
	// Pending is up to limit events not yet published, oldest first.
	Pending(ctx context.Context, limit int) ([]E, error)
	// Forget removes published events.
	Forget(ctx context.Context, events []E) error
}

// Relay publishes a Source's events.
type Relay[E any] struct {
	Source  Source[E]
	Publish func(context.Context, E) error
	// Batch is the most events one pass publishes.
	Batch int
	// OccurredAt is when an event's change was made.
	OccurredAt func(E) time.Time
	// Origin, when set, is the W3C traceparent of the request that made an
	// event ("" when none): each publication is then a span of its own
	// linked to that request's trace, and the delivery continues it.
	Origin func(E) string
	// Backlog, when set, is told after every pass that published how old
	// the oldest event still pending is (zero: none; after a full pass, the
	// last one published stands for it), so that writers can
	// wait while the relay is behind (admission.Lag).
	Backlog func(oldest time.Time)
}

// Run makes a pass every interval until ctx ends: at most Batch events
// per interval, the relay's capacity.
func (r Relay[E]) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			log.Warn("events not published yet; the next pass tries again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Once publishes up to Batch pending events, oldest first, and forgets
// them; full says more may be waiting.
func (r Relay[E]) Once(ctx context.Context) (full bool, err error) {
	pending, err := r.Source.Pending(ctx, r.Batch)
	if err != nil {
		return false, err
	}
	for i, e := range pending {
		if err := r.publish(ctx, e); err != nil {
			return false, fmt.Errorf("publish: %w", errors.Join(err, r.forget(ctx, pending[:i])))
		}
	}
	if err := r.forget(ctx, pending); err != nil {
		return false, err
	}
	full = len(pending) == r.Batch
	if r.Backlog != nil {
		var oldest time.Time
		if full {
			oldest = r.OccurredAt(pending[len(pending)-1])
		}
		r.Backlog(oldest)
	}
	return full, nil
}

// publish publishes e in a producer span linked to the trace of the write
// that made it: the write's trace ended with its answer, and a relay pass
// serves many writes, so a link, not a parent.
func (r Relay[E]) publish(ctx context.Context, e E) error {
	var opts []trace.SpanStartOption
	if r.Origin != nil {
		carrier := propagation.MapCarrier{"traceparent": r.Origin(e)}
		if origin := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(ctx, carrier)); origin.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: origin}))
		}
	}
	ctx, span := otel.Tracer("github.com/qeetmart/qeetmart/internal/platform/outbox").Start(ctx, "outbox publish",
		append(opts, trace.WithSpanKind(trace.SpanKindProducer), trace.WithNewRoot())...)
	defer span.End()
	err := r.Publish(ctx, e)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

func (r Relay[E]) forget(ctx context.Context, published []E) error {
	if len(published) == 0 {
		return nil
	}
	if err := r.Source.Forget(ctx, published); err != nil {
		return fmt.Errorf("forget %d published events: %w", len(published), err)
	}
	return nil
}
