package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
)

// ServiceHealth is one service's line in /health/services.
type ServiceHealth struct {
	Name         string `json:"name"`
	Status       string `json:"status"`       // healthy or unhealthy
	ResponseTime int64  `json:"responseTime"` // milliseconds
	Error        string `json:"error,omitempty"`
}

// ServicesHealth is the body of /health/services.
type ServicesHealth struct {
	Status    string          `json:"status"` // ok or degraded
	Services  []ServiceHealth `json:"services"`
	Timestamp time.Time       `json:"timestamp"`
}

// servicesHealth asks every service's /ready through Dapr service invocation,
// in parallel, each bounded by timeout: 200 "ok" when all answer, else 503
// "degraded" naming each failing service and why.
func servicesHealth(dapr *sidecar.Client, apps []string, timeout time.Duration) fiber.Handler {
	return func(c fiber.Ctx) error {
		// A Fiber Ctx is not safe across goroutines; take the context first.
		ctx := c.Context()
		results := make([]ServiceHealth, len(apps))
		var wg sync.WaitGroup
		for i, app := range apps {
			wg.Go(func() { results[i] = checkService(ctx, dapr, app, timeout) })
		}
		wg.Wait()
		body := ServicesHealth{Status: "ok", Services: results, Timestamp: time.Now().UTC()}
		status := http.StatusOK
		for _, r := range results {
			if r.Status != "healthy" {
				body.Status, status = "degraded", http.StatusServiceUnavailable
			}
		}
		return c.Status(status).JSON(body)
	}
}

func checkService(ctx context.Context, dapr *sidecar.Client, app string, timeout time.Duration) ServiceHealth {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := probe(ctx, dapr, app)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("no answer within %s", timeout)
	}
	h := ServiceHealth{Name: app, Status: "healthy", ResponseTime: time.Since(start).Milliseconds()}
	if err != nil {
		h.Status, h.Error = "unhealthy", err.Error()
	}
	return h
}

func probe(ctx context.Context, dapr *sidecar.Client, app string) error {
	req, err := dapr.NewRequest(ctx, http.MethodGet, sidecar.InvokeURL(app, "ready"), nil)
	if err != nil {
		return err
	}
	resp, err := dapr.Do(req)
	if err != nil {
		return fmt.Errorf("sidecar unreachable: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, reason(resp.Body))
}

// reason extracts a short cause from a failed answer: Dapr's own errors
// carry "message", our services' /ready carries "checks".
func reason(body io.Reader) string {
	raw, _ := io.ReadAll(io.LimitReader(body, 4096))
	var parsed struct {
		Message string            `json:"message"`
		Checks  map[string]string `json:"checks"`
	}
	if json.Unmarshal(raw, &parsed) == nil {
		if parsed.Message != "" {
			return parsed.Message
		}
		var failed []string
		for name, msg := range parsed.Checks {
			if msg != "ok" {
				failed = append(failed, name+": "+msg)
			}
		}
		if len(failed) > 0 {
			sort.Strings(failed)
			return strings.Join(failed, "; ")
		}
	}
	return strings.TrimSpace(string(raw))
}
