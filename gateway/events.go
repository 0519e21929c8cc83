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

// revocationsInForce reads auth's list of revocations still in force
// through Dapr service invocation (GET /revocations, which no public route
// reaches).
func revocationsInForce(ctx context.Context, dapr *sidecar.Client, app string) ([]identity.Revocation, error) {
	req, err := dapr.NewRequest(ctx, http.MethodGet, sidecar.InvokeURL(app, "revocations"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := dapr.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read revocations: %s answered HTTP %d", app, resp.StatusCode)
	}
	var list struct {
		Revocations []identity.Revocation `json:"revocations"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	return list.Revocations, nil
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
