package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// client calls the gateway as a shopper's or an admin's program would,
// spreading its calls over the gateway replicas serving, as a load
// balancer in front of them would.
type client struct {
	http *http.Client

	mu       sync.Mutex
	gateways []string // base URLs, the first replica first
	next     int
}

func newClient(base string) *client {
	return &client{gateways: []string{base}, http: &http.Client{Timeout: 15 * time.Second}}
}

// pick is the replica for the next call, in turn.
func (c *client) pick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return c.gateways[c.next%len(c.gateways)]
}

// addGateway puts a replica in the rotation; removeGateway takes it out
// (before it is stopped, as a load balancer drains a replica).
func (c *client) addGateway(base string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gateways = append(c.gateways, base)
}

func (c *client) removeGateway(base string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gateways = slices.DeleteFunc(c.gateways, func(g string) bool { return g == base })
}

// first is the replica that serves from start to end.
func (c *client) first() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gateways[0]
}

// answer is what one call got: a status and body, or no answer at all.
type answer struct {
	status int
	body   []byte
	err    error
}

func (c *client) call(ctx context.Context, method, path, token string, body any) answer {
	return c.callAt(ctx, c.pick(), method, path, token, body)
}

// callAt calls the gateway replica at base.
func (c *client) callAt(ctx context.Context, base, method, path, token string, body any) answer {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{status: resp.StatusCode, body: raw, err: err}
}

func (a answer) ok() bool { return a.err == nil && a.status/100 == 2 }

// unclean says what is wrong with an answer a client could not rely on: a
// 2xx whose body is not JSON, or a failure outside the one error envelope.
// A call that got no answer in time (a hung connection) is unclean too; one
// refused at once is not (nothing was promised).
func (a answer) unclean() string {
	if a.err != nil {
		if ctxErr, ok := a.err.(interface{ Timeout() bool }); ok && ctxErr.Timeout() {
			return "no answer within 15 s: " + a.err.Error()
		}
		return ""
	}
	if a.status/100 == 2 {
		if a.status != http.StatusNoContent && !json.Valid(a.body) {
			return fmt.Sprintf("%d with a body that is not JSON: %.80q", a.status, a.body)
		}
		return ""
	}
	var envelope struct {
		Success *bool
		Error   struct{ Code string }
	}
	if json.Unmarshal(a.body, &envelope) != nil || envelope.Success == nil || *envelope.Success || envelope.Error.Code == "" {
		return fmt.Sprintf("%d outside the error envelope: %.80q", a.status, a.body)
	}
	return ""
}

// field decodes the answer's body, or its "data" member (the inventory's
// envelope), into v.
func (a answer) decode(v any) error {
	var wrapped struct{ Data json.RawMessage }
	if json.Unmarshal(a.body, &wrapped) == nil && len(wrapped.Data) > 0 {
		return json.Unmarshal(wrapped.Data, v)
	}
	return json.Unmarshal(a.body, v)
}

// waitHealthy polls the gateway's aggregated health until every service is
// up, or gives up after timeout.
func (c *client) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last answer
	for {
		if last = c.callAt(ctx, c.first(), http.MethodGet, "/health/services", "", nil); last.status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("last answer %d %.120s %v", last.status, last.body, last.err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
