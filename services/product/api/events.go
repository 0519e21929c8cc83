package api

import (
	"context"
	"log/slog"

	"github.com/gofiber/fiber/v3"
)

// Forwarder passes one message of the outbox's relay queue on
// (store.Relay): false when it was not a change (nothing to tell).
type Forwarder interface {
	Forward(ctx context.Context, message []byte) (forwarded bool, err error)
}

// Relay registers the sidecar's side: the subscription to the relay queue
// and its delivery route. Only the sidecar reaches these (the gateway
// forwards nothing outside /products and /categories).
func Relay(r fiber.Router, pubsub, topic string, f Forwarder, log *slog.Logger) {
	r.Get("/dapr/subscribe", func(c fiber.Ctx) error {
		return c.JSON([]fiber.Map{{"pubsubname": pubsub, "topic": topic, "route": "/dapr/events/" + topic}})
	})
	r.Post("/dapr/events/"+topic, func(c fiber.Ctx) error {
		forwarded, err := f.Forward(c.Context(), c.Body())
		if err != nil {
			log.Warn("product event not forwarded; Dapr delivers it again", "err", err)
			return c.JSON(fiber.Map{"status": "RETRY"})
		}
		if forwarded {
			log.Debug("product event forwarded")
		}
		return c.JSON(fiber.Map{"status": "SUCCESS"})
	})
}
