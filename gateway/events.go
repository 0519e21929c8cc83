package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/gateway/identity"
	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
)

// Revocations arrive on their own pub/sub component, whose consumer group is
// unique per sidecar ({uuid}): every gateway replica gets every event, and a
// new replica's group reads the stream from its start, so it learns every
// revocation still in force.
const (
	revocationPubsub = authtoken.RevocationPubsub
	revocationTopic  = authtoken.RevocationTopic
)

// subscriptions tells the sidecar what to deliver (programmatic subscription).
func subscriptions(c fiber.Ctx) error {
	return c.JSON([]fiber.Map{{
		"pubsubname": revocationPubsub,
		"topic":      revocationTopic,
		"route":      "/dapr/events/revocations",
	}})
}

// applyRevocation takes one revocation event (a CloudEvent). A malformed one
// is dropped, not retried forever.
func (g *gateway) applyRevocation(c fiber.Ctx) error {
	var event struct {
		ID   string              `json:"id"`
		Data identity.Revocation `json:"data"`
	}
	if err := json.Unmarshal(c.Body(), &event); err != nil || event.Data.ExpiresAt.IsZero() {
		g.log.Warn("dropping malformed revocation event", "err", err, "id", event.ID)
		return c.JSON(fiber.Map{"status": "DROP"})
	}
	g.revocations.Apply(event.Data)
	g.metrics.revoked(event.Data, time.Now())
	g.log.Info("revocation applied", "id", event.ID, "sessions", len(event.Data.SessionIDs), "user", event.Data.UserID)
	return c.JSON(fiber.Map{"status": "SUCCESS"})
}

// jwksSource fetches auth's public keys through Dapr service invocation.
type jwksSource struct {
	dapr *sidecar.Client
	app  string
}

func (s jwksSource) FetchJWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	req, err := s.dapr.NewRequest(ctx, http.MethodGet, sidecar.InvokeURL(s.app, ".well-known/jwks.json"), nil)
	if err != nil {
		return set, err
	}
	resp, err := s.dapr.Do(req)
	if err != nil {
		return set, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("%s answered HTTP %d", s.app, resp.StatusCode)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set)
	return set, err
}
