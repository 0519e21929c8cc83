package api

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/inventory/app"
)

// Catalog registers the sidecar's side of the product service's events:
// the subscription to topic on pubsub and its delivery route. Only the
// sidecar reaches these (the gateway forwards nothing outside
// /inventory). Each replica shares the topic's consumer group (the app
// id), so one of them takes each event.
func Catalog(r fiber.Router, pubsub, topic string, inv *app.Inventory, log *slog.Logger) {
	route := "/dapr/events/" + topic
	r.Get("/dapr/subscribe", func(c fiber.Ctx) error {
		return c.JSON([]fiber.Map{{"pubsubname": pubsub, "topic": topic, "route": route}})
	})
	r.Post(route, func(c fiber.Ctx) error {
		change, err := catalogChange(c.Body())
		if err == nil {
			err = inv.ApplyCatalogChange(c.Context(), change)
		}
		var invalid validation.Errors
		switch {
		case errors.As(err, &invalid):
			// Delivering it again would not make it valid.
			log.Warn("product event dropped", "err", err)
			return c.JSON(fiber.Map{"status": "DROP"})
		case err != nil:
			log.Warn("product event not applied; Dapr delivers it again", "err", err)
			return c.JSON(fiber.Map{"status": "RETRY"})
		}
		return c.JSON(fiber.Map{"status": "SUCCESS"})
	})
}

// productEvent is the part of a product event (a CloudEvent, data as in
// docs/events.md) the inventory reads.
type productEvent struct {
	Data struct {
		Type      string `json:"type"`
		ProductID string `json:"productId"`
		VariantID string `json:"variantId"`
		Variants  []struct {
			ID  string `json:"id"`
			SKU string `json:"sku"`
		} `json:"variants"`
	} `json:"data"`
}

func catalogChange(body []byte) (app.CatalogChange, error) {
	var e productEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return app.CatalogChange{}, validation.Errors{"event": "not a product event: " + err.Error()}
	}
	switch e.Data.Type {
	case "variant.created", "variant.updated": // an update may rename the SKU
		for _, v := range e.Data.Variants {
			if v.ID == e.Data.VariantID {
				return app.CatalogChange{NewSKU: v.SKU}, nil
			}
		}
		return app.CatalogChange{}, validation.Errors{"event": e.Data.Type + " without its variant"}
	case "product.deleted":
		ch := app.CatalogChange{DeletedProduct: e.Data.ProductID}
		for _, v := range e.Data.Variants {
			ch.DeletedSKUs = append(ch.DeletedSKUs, v.SKU)
		}
		return ch, nil
	}
	return app.CatalogChange{}, nil // nothing the inventory keeps changed
}
