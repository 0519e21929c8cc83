package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/web"
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

// checkServices asks every service's /ready through Dapr service
// invocation, in parallel, each bounded by timeout.
func checkServices(ctx context.Context, dapr *sidecar.Client, apps []string, timeout time.Duration) ServicesHealth {
	results := make([]ServiceHealth, len(apps))
	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Go(func() { results[i] = checkService(ctx, dapr, app, timeout) })
	}
	wg.Wait()
	report := ServicesHealth{Status: "ok", Services: results, Timestamp: time.Now().UTC()}
	for _, r := range results {
		if r.Status != "healthy" {
			report.Status = "degraded"
		}
	}
	return report
}

// httpStatus is 200 when every service is healthy, else 503.
func (h ServicesHealth) httpStatus() int {
	if h.Status == "ok" {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// servicesHealth is the public /health/services: each service's status and
// timing, never why one failed (that names internals: components, hosts,
// Dapr's errors). The reasons go to the log and to the admin address.
func servicesHealth(dapr *sidecar.Client, apps []string, timeout time.Duration, log *slog.Logger) fiber.Handler {
	return func(c fiber.Ctx) error {
		// A Fiber Ctx is not safe across goroutines; take the context first.
		report := checkServices(c.Context(), dapr, apps, timeout)
		for i, s := range report.Services {
			if s.Error != "" {
				log.Warn("service unhealthy", "service", s.Name, "err", s.Error, "correlationId", web.CorrelationID(c))
				report.Services[i].Error = ""
			}
		}
		return c.Status(report.httpStatus()).JSON(report)
	}
}

// servicesHealthDetail is /health/services on the admin address, with each
// failing service's reason.
func servicesHealthDetail(dapr *sidecar.Client, apps []string, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		report := checkServices(r.Context(), dapr, apps, timeout)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(report.httpStatus())
		_ = json.NewEncoder(w).Encode(report)
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
