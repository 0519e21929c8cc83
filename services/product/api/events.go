package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
)

// Forwarder passes one message of the outbox's relay queue on
// (store.Relay), telling when its write was made: zero when it was not a
// change (nothing to tell).
type Forwarder interface {
	Forward(ctx context.Context, message []byte) (occurred time.Time, err error)
}

// Relay registers the sidecar's side: the subscription to the relay queue
// and its delivery route. Only the sidecar reaches these (the gateway
// forwards nothing outside /products and /categories). Each change
// forwarded tells lag how far the relay is behind the writes, which
// refuse new writes while it is too far (docs/events.md).
func Relay(r fiber.Router, pubsub, topic string, f Forwarder, lag *admission.Lag, log *slog.Logger) {
	r.Get("/dapr/subscribe", func(c fiber.Ctx) error {
		return c.JSON([]fiber.Map{{"pubsubname": pubsub, "topic": topic, "route": "/dapr/events/" + topic}})
	})
	r.Post("/dapr/events/"+topic, func(c fiber.Ctx) error {
		occurred, err := f.Forward(c.Context(), c.Body())
		if err != nil {
			log.Warn("product event not forwarded; Dapr delivers it again", "err", err)
			return c.JSON(fiber.Map{"status": "RETRY"})
		}
		if !occurred.IsZero() {
			lag.Finished(occurred)
			log.Debug("product event forwarded", "lag", time.Since(occurred))
		}
		return c.JSON(fiber.Map{"status": "SUCCESS"})
	})
}
