// Package health serves liveness and readiness.
//
// Liveness (/health) touches nothing: it says the process answers. Readiness
// (/ready) runs the program's checks, each bounded by a timeout, in parallel.
package health

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"
)

// Check is one dependency to probe; a nil error means it answers.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// LiveBody is what /health answers.
type LiveBody struct {
	Status    string    `json:"status"`
	Service   string    `json:"service"`
	Timestamp time.Time `json:"timestamp"`
}

// ReadyBody is what /ready answers; Checks maps each check to "ok" or why not.
type ReadyBody struct {
	Status    string            `json:"status"`
	Service   string            `json:"service"`
	Checks    map[string]string `json:"checks"`
	Timestamp time.Time         `json:"timestamp"`
}

// Live answers 200 while the process can serve.
func Live(service string) fiber.Handler {
	return func(c fiber.Ctx) error {
		return c.JSON(LiveBody{Status: "ok", Service: service, Timestamp: time.Now().UTC()})
	}
}

// Ready answers 200 when every check passes within timeout, else 503 naming
// each failing check and its reason.
func Ready(service string, timeout time.Duration, checks ...Check) fiber.Handler {
	return func(c fiber.Ctx) error {
		results, ok := Run(c.Context(), timeout, checks)
		body := ReadyBody{Status: "ready", Service: service, Checks: results, Timestamp: time.Now().UTC()}
		status := http.StatusOK
		if !ok {
			body.Status, status = "not_ready", http.StatusServiceUnavailable
		}
		return c.Status(status).JSON(body)
	}
}

// Run probes every check in parallel and reports "ok" or the error text for
// each, and whether all passed.
func Run(ctx context.Context, timeout time.Duration, checks []Check) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	results := make(map[string]string, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	allOK := true
	for _, chk := range checks {
		wg.Go(func() {
			err := chk.Probe(ctx)
			mu.Lock()
			defer mu.Unlock()
			results[chk.Name] = "ok"
			if err != nil {
				results[chk.Name], allOK = err.Error(), false
			}
		})
	}
	wg.Wait()
	return results, allOK
}
