// Command echoapp is a purpose-built upstream for gateway tests. It runs on
// the real service skeleton (app token, health) under any app-id and answers
// every other request with what it received. Headers steer it:
//
//	X-Echo-Status: 503   answer with this status
//	X-Echo-Sleep: 3s     wait this long first
//	X-Echo-Id: abc       count requests with this id; the answer's "seen"
//	                     says how many arrived, so tests see Dapr's retries
//	X-Echo-Peek: abc     answer {"seen": n} for id abc, counting nothing
//
// With TEST_JWKS set it serves that document at /.well-known/jwks.json, and
// no revocations at /revocations, so it can stand in for auth.
package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/qeetmart/qeetmart/internal/platform/service"
)

// Echo is what the app answers.
type Echo struct {
	App      string            `json:"app"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	RawQuery string            `json:"rawQuery"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
	Seen     int               `json:"seen,omitempty"`
}

// counter counts requests per X-Echo-Id.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[id]
}

func (c *counter) add(id string) int {
	if id == "" {
		return 0
	}
	id = strings.Clone(id) // Fiber's strings point into a reused buffer
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[id]++
	return c.seen[id]
}

func main() {
	app := os.Getenv("ECHO_APP_ID")
	jwks := os.Getenv("TEST_JWKS")
	seen := &counter{seen: map[string]int{}}
	service.Main(service.Spec{
		Name:        app,
		DefaultPort: 4999,
		Routes: func(_ context.Context, r fiber.Router, _ service.Deps) error {
			if jwks != "" {
				r.Get("/.well-known/jwks.json", func(c fiber.Ctx) error {
					c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
					return c.SendString(jwks)
				})
				// Auth's list of revocations in force, which a gateway reads
				// back before it accepts a token: here there are none.
				r.Get("/revocations", func(c fiber.Ctx) error {
					return c.JSON(fiber.Map{"revocations": []any{}})
				})
			}
			// Dapr asks apps for /dapr/config and /dapr/subscribe; an echo of
			// those would read as a malformed subscription list.
			r.All("/dapr/*", func(c fiber.Ctx) error { return fiber.ErrNotFound })
			r.All("/*", func(c fiber.Ctx) error { return echo(c, app, seen) })
			return nil
		},
	})
}

func echo(c fiber.Ctx, app string, seen *counter) error {
	if id := c.Get("X-Echo-Peek"); id != "" {
		return c.JSON(Echo{App: app, Seen: seen.get(id)})
	}
	n := seen.add(c.Get("X-Echo-Id"))
	if d, err := time.ParseDuration(c.Get("X-Echo-Sleep")); err == nil {
		select {
		case <-time.After(d):
		case <-c.Context().Done():
			return c.Context().Err()
		}
	}
	status := fiber.StatusOK
	if s, err := strconv.Atoi(c.Get("X-Echo-Status")); err == nil {
		status = s
	}
	body := c.Body()
	if c.Request().IsBodyStream() {
		body, _ = io.ReadAll(c.Request().BodyStream())
	}
	headers := map[string]string{}
	for k, v := range c.Request().Header.All() {
		headers[string(k)] = string(v)
	}
	c.Set("X-Echo-App", app)
	return c.Status(status).JSON(Echo{
		App:      app,
		Method:   c.Method(),
		Path:     string(c.Request().URI().PathOriginal()),
		RawQuery: string(c.Request().URI().QueryString()),
		Headers:  headers,
		Body:     string(body),
		Seen:     n,
	})
}
