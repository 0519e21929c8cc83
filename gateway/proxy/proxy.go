// Package proxy forwards a client's request to a service through the
// gateway's own Dapr sidecar (HTTP service invocation), so the sidecar's
// Resiliency policies, mTLS and access control apply, and returns the
// service's answer unchanged: status, headers and body, streamed both ways.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// hopHeaders are connection-level (RFC 9110 §7.6.1) and never forwarded.
var hopHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-authenticate": true, "proxy-authorization": true,
	"proxy-connection": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
	"host": true, "content-length": true,
}

// dropped request headers: ours to set (the web.Header* caller headers
// among them), or Dapr's, never the client's.
var dropped = map[string]bool{
	"x-user-id": true, "x-user-role": true, "x-user-email": true, "x-session-id": true,
	"x-correlation-id": true, "x-request-id": true,
	"x-forwarded-for": true, "x-forwarded-host": true, "x-forwarded-proto": true, "forwarded": true,
	"traceparent": true, "tracestate": true,
}

// Request is one call to forward.
type Request struct {
	App       string // Dapr app-id, or app.namespace for the no-retry policy
	Path      string // service-native path, escaped (routing.Escape)
	Caller    map[string]string
	ClientIP  string
	Timeout   time.Duration // the whole exchange, body included
	BodyLimit int64         // bytes; a larger body is refused with 413
}

var (
	errTooLarge  = web.NewError(http.StatusRequestEntityTooLarge, web.CodeTooLarge, "Request body too large")
	errBadHeader = web.NewError(http.StatusBadRequest, web.CodeBadRequest, "Malformed request header")
	errBadBody   = web.NewError(http.StatusBadRequest, web.CodeBadRequest, "Malformed request body")
)

// Forwarder sends requests to services through the sidecar.
type Forwarder struct {
	Sidecar *sidecar.Client
}

// Forward sends c's request to r.App at r.Path and writes the answer to c.
func (f *Forwarder) Forward(c fiber.Ctx, r Request) (err error) {
	// fasthttp hands over a streamed body even when it is over the limit,
	// so the limit is kept here: by Content-Length up front, by counting for
	// chunked bodies.
	if int64(c.Request().Header.ContentLength()) > r.BodyLimit {
		return refuseBody(c)
	}
	// The timeout must outlive this function: the answer's body is streamed
	// to the client after it returns. And net/http may still be reading the
	// request body in another goroutine after it returned the answer (when a
	// service answers before reading all of it), while fasthttp reuses that
	// body once the exchange is over. So the end of the exchange (the
	// answer's body closed, or a failure here) cancels the call and then
	// waits until net/http has let go of the request body.
	ctx, cancel := context.WithTimeout(c.Context(), r.Timeout)
	var reqBody *guardedBody
	finish := func() {
		cancel()
		if reqBody != nil {
			reqBody.wait()
		}
	}
	defer func() {
		if err != nil {
			finish()
		}
	}()
	target := sidecar.InvokeURL(r.App, strings.TrimPrefix(r.Path, "/"))
	if q := c.Request().URI().QueryString(); len(q) > 0 {
		target += "?" + string(q)
	}
	var body io.Reader = http.NoBody
	if c.Request().IsBodyStream() {
		reqBody = newGuardedBody(c.Request().BodyStream(), r.BodyLimit)
		body = reqBody
	} else if b := c.Body(); len(b) > 0 {
		reqBody = newGuardedBody(bytes.NewReader(b), r.BodyLimit)
		body = reqBody
	}
	req, err := f.Sidecar.NewRequest(ctx, c.Method(), target, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(c.Request().Header.ContentLength())
	if req.ContentLength < 0 {
		req.ContentLength = -1 // chunked
	}
	if hasObsFold(c.Request().Header.RawHeaders()) {
		return errBadHeader
	}
	for k, v := range c.Request().Header.All() {
		// fasthttp is lenient where net/http is not (a space before the
		// colon, obs-fold): such a header is the client's error, answered
		// here, never a request the upstream client refuses to send.
		if !httpguts.ValidHeaderFieldName(string(k)) || !httpguts.ValidHeaderFieldValue(string(v)) {
			return errBadHeader
		}
		name := strings.ToLower(string(k))
		if hopHeaders[name] || dropped[name] || strings.HasPrefix(name, "dapr-") {
			continue
		}
		req.Header.Add(string(k), string(v))
	}
	id := web.CorrelationID(c)
	req.Header.Set(web.HeaderCorrelationID, id)
	req.Header.Set(web.HeaderRequestID, id)
	req.Header.Set("X-Forwarded-For", r.ClientIP)
	req.Header.Set("X-Forwarded-Host", string(c.Request().Host()))
	req.Header.Set("X-Forwarded-Proto", c.Protocol())
	for k, v := range r.Caller {
		req.Header.Set(k, v)
	}

	resp, err := f.Sidecar.Do(req)
	if err != nil {
		if errors.Is(err, errBodyOverLimit) {
			finish()
			return refuseBody(c)
		}
		if reqBody != nil && reqBody.clientErr() != nil {
			// The client's body broke off or was badly framed (a chunk
			// size that is not hex, say): its fault, not the service's.
			// Where its body ends is unknown, so nothing after it on this
			// connection can be read as a request.
			finish()
			c.Response().SetConnectionClose()
			return errBadBody.WithCause(reqBody.clientErr())
		}
		return upstreamError(ctx, r.App, err)
	}
	if resp.StatusCode >= 500 {
		if err := daprError(resp, r.App); err != nil {
			return err
		}
	}
	if !fromApp(resp, id) {
		// Every QeetMart app echoes the correlation id on every answer
		// (web.Correlation). An answer without it was made up on the way,
		// such as the bodiless 200 seen once while the service's sidecar
		// was being killed mid-call: never passed on as the service's.
		resp.Body.Close()
		return unavailable(r.App, fmt.Errorf("answer %d did not come from the service", resp.StatusCode))
	}
	for k, vs := range resp.Header {
		// The correlation id and the trace context are the gateway's to
		// answer with, once (its server span: the trace's root).
		if name := strings.ToLower(k); hopHeaders[name] || name == "x-correlation-id" || name == "x-request-id" ||
			name == "traceparent" || name == "tracestate" {
			continue
		}
		for _, v := range vs {
			c.Response().Header.Add(k, v)
		}
	}
	c.Status(resp.StatusCode)

	// Most answers are small: read up to smallBody and send them in one
	// write. Anything larger is streamed through as it arrives.
	buf := buffers.Get().(*[]byte)
	head := *buf
	n, rerr := readUpTo(resp.Body, head)
	if rerr != nil { // the whole answer fit, or it broke off
		resp.Body.Close()
		finish()
		defer buffers.Put(buf)
		if rerr == io.EOF {
			// SetBody copies: the buffer goes back to the pool when we
			// return, while fasthttp writes the answer later. (c.Send
			// keeps a reference: one client's body in another's answer.)
			c.Response().SetBody(head[:n])
			return nil
		}
		return unavailable(r.App, rerr)
	}
	// fasthttp closes the stream once it has been written out.
	return c.SendStream(readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), closerFunc(func() error {
		err := resp.Body.Close()
		finish()
		buffers.Put(buf)
		return err
	})}, int(resp.ContentLength))
}

// fromApp reports whether resp is the service's own answer to the request
// sent with correlation id id: the service echoes it on every answer.
func fromApp(resp *http.Response, id string) bool {
	return resp.Header.Get(web.HeaderCorrelationID) == id
}

// readUpTo fills b from r. Its error is nil when b is full, io.EOF when the
// answer ended cleanly before that, and anything else (io.ErrUnexpectedEOF:
// shorter than its Content-Length) when it broke off. (io.ReadFull reports a
// clean short answer as io.ErrUnexpectedEOF too, so a body that broke off
// would pass for a whole one.)
func readUpTo(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// hasObsFold reports a header line continued on the next (obs-fold, RFC
// 9112 §5.2): refused rather than silently joined, as a proxy may.
func hasObsFold(raw []byte) bool {
	return bytes.Contains(raw, []byte("\r\n ")) || bytes.Contains(raw, []byte("\r\n\t"))
}

// smallBody is the largest answer sent in one piece rather than streamed.
const smallBody = 32 << 10

var buffers = sync.Pool{New: func() any { b := make([]byte, smallBody); return &b }}

// upstreamError is the answer when the gateway's own sidecar did not answer.
func upstreamError(ctx context.Context, app string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return web.NewError(http.StatusGatewayTimeout, web.CodeGatewayTimeout, fmt.Sprintf("Service %s did not answer in time", serviceName(app)))
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unavailable(app, err)
	}
	return fmt.Errorf("invoke %s: %w", app, err)
}

func unavailable(app string, cause error) error {
	return web.NewError(http.StatusBadGateway, web.CodeUnavailable, fmt.Sprintf("Service %s is unavailable", serviceName(app))).WithCause(cause)
}

// serviceName drops the namespace of the no-retry alias (product.default).
func serviceName(app string) string {
	name, _, _ := strings.Cut(app, ".")
	return name
}

// daprErrorBody is how daprd itself answers when an invocation fails (as
// opposed to the service answering with our envelope).
type daprErrorBody struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// daprError turns daprd's own invocation failures into 504 (the Resiliency
// timeout fired) or 502 (the service or its sidecar is down, or the circuit
// breaker is open). A 5xx from the service itself is passed through: resp
// is left readable from the start.
func daprError(resp *http.Response, app string) error {
	const peek = 64 << 10
	head, err := io.ReadAll(io.LimitReader(resp.Body, peek))
	if err != nil {
		resp.Body.Close()
		return unavailable(app, err)
	}
	var de daprErrorBody
	if json.Unmarshal(head, &de) == nil && strings.HasPrefix(de.ErrorCode, "ERR_") {
		resp.Body.Close()
		// The timeout shows as "context deadline exceeded" or, when it fires
		// in the callee's sidecar, as gRPC's DeadlineExceeded.
		msg := strings.ToLower(de.Message)
		if strings.Contains(msg, "deadline") || strings.Contains(msg, "timeout") || strings.Contains(msg, "timed out") {
			return web.NewError(http.StatusGatewayTimeout, web.CodeGatewayTimeout, fmt.Sprintf("Service %s did not answer in time", serviceName(app))).WithCause(errors.New(de.Message))
		}
		return unavailable(app, errors.New(de.Message))
	}
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

var errBodyOverLimit = errors.New("request body over the limit")

// drainCap bounds how much of a refused body is read and thrown away, so
// that a client still sending gets its 413 rather than a reset connection,
// and a client sending gigabytes gets cut off.
const drainCap = 8 << 20

func refuseBody(c fiber.Ctx) error {
	if c.Request().IsBodyStream() {
		_, _ = io.CopyN(io.Discard, c.Request().BodyStream(), drainCap)
	}
	return errTooLarge
}

// guardedBody is the request body as handed to net/http: it stops at the
// limit, remembers a failure of the client's own stream, and tells when
// net/http has closed it.
type guardedBody struct {
	r      io.Reader
	left   int64
	closed chan struct{}
	once   sync.Once

	mu  sync.Mutex
	err error // the client's stream failed (not EOF)
}

func (b *guardedBody) clientErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func newGuardedBody(r io.Reader, limit int64) *guardedBody {
	return &guardedBody{r: r, left: limit, closed: make(chan struct{})}
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyOverLimit
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	b.left -= int64(n)
	if b.left < 0 {
		return n, errBodyOverLimit
	}
	return n, err
}

func (b *guardedBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// wait returns once net/http has closed the body (it always does, maybe
// from another goroutine), or after a bound, so that a transport bug can
// delay the end of a request but never hang it.
func (b *guardedBody) wait() {
	select {
	case <-b.closed:
	case <-time.After(5 * time.Second):
	}
}
