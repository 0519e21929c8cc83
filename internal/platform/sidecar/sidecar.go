// Package sidecar is the app's HTTP client for its own Dapr sidecar.
//
// We talk to daprd over its HTTP API rather than the Go SDK's gRPC client
// where it matters: HTTP service invocation keeps status codes, headers and
// bodies intact, and the HTTP state API stores JSON as JSONB (gRPC
// transactions store base64), so our data stays queryable with SQL.
package sidecar

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Client calls one daprd's HTTP API on loopback.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the sidecar listening on 127.0.0.1:httpPort.
// Requests carry the Dapr API token and the caller's W3C trace context, so
// the sidecar's spans join the app's trace.
func New(httpPort int, apiToken string) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256 // every call goes to this one host
	return &Client{
		base:  fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		token: apiToken,
		http:  &http.Client{Transport: otelhttp.NewTransport(t)},
	}
}

// DefaultTimeout bounds a call whose context has no deadline of its own
// (start-up work, background refreshes), so that a hung sidecar cannot
// hold anything forever.
const DefaultTimeout = 30 * time.Second

// Do sends req to the sidecar with the API token set. The caller closes the
// body. A request without a deadline gets DefaultTimeout, until its body is
// closed.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("dapr-api-token", c.token)
	}
	if _, ok := req.Context().Deadline(); ok {
		return c.http.Do(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), DefaultTimeout)
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// NewRequest builds a request for a path of the sidecar's API, such as
// "/v1.0/state/auth-store/key".
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("sidecar request %s %s: %w", method, path, err)
	}
	return req, nil
}

// InvokeURL is the sidecar path that invokes method on appID. method is
// the path as the app must receive it, already escaped ("products/caf%C3%A9").
// daprd percent-decodes the method once and calls the app with the result
// as its raw path, so each segment is escaped once more here: otherwise a
// segment "100%25" would reach daprd's URL parser as "100%" (a 502), "a%3Fb"
// would reach the app as a query, and "%252e%252e" as a real "..".
func InvokeURL(appID, method string) string {
	segments := strings.Split(strings.TrimPrefix(method, "/"), "/")
	for i, seg := range segments {
		segments[i] = url.PathEscape(seg)
	}
	return "/v1.0/invoke/" + url.PathEscape(appID) + "/method/" + strings.Join(segments, "/")
}

// WaitOutbound blocks until the sidecar's APIs are up (healthz/outbound), which
// is before the sidecar has found the app, so the app may wait on it before
// it opens its own port without a deadlock.
func (c *Client) WaitOutbound(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.Outbound(ctx) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sidecar not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Outbound reports whether the sidecar's APIs answer (healthz/outbound).
func (c *Client) Outbound(ctx context.Context) error {
	req, err := c.NewRequest(ctx, http.MethodGet, "/v1.0/healthz/outbound", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sidecar: HTTP %d", resp.StatusCode)
	}
	return nil
}

// StateStoreAnswers reads a probe key from store: any answer from the store
// (found or not) proves the sidecar and the store behind it work.
func (c *Client) StateStoreAnswers(ctx context.Context, store string) error {
	req, err := c.NewRequest(ctx, http.MethodGet, "/v1.0/state/"+url.PathEscape(store)+"/readiness-probe", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("state store %s: %w", store, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("state store %s: HTTP %d: %s", store, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
