// Package routing is the gateway's route table: which public path goes to
// which app and service path, and which requests need no token. It is plain
// data and plain Go, with no HTTP framework in it.
package routing

import (
	"net/http"
	"strings"
)

// Route maps a public path prefix to an app-id and its service-native prefix.
type Route struct {
	Prefix   string // public, e.g. /api/v1/products
	App      string // Dapr app-id
	Upstream string // service-native prefix, e.g. /products
	// PublicRead: GET and HEAD need no token (anonymous catalog browsing),
	// except under PrivateReads (prefixes, matched at a segment boundary and
	// ignoring case, as the services' routers do).
	PublicRead   bool
	PrivateReads []string
	// PublicPaths need no token for any method (register, login, refresh,
	// logout): they authenticate by what the body carries (a password, a
	// refresh token). A token sent with them is ignored, so a client whose
	// access token has expired can still log out.
	PublicPaths []string
	// StrictLimit puts PublicPaths under the stricter per-IP rate limit:
	// they are where passwords and refresh tokens are guessed.
	StrictLimit bool
}

// Table is the gateway's whole route table, in one place.
var Table = []Route{
	{Prefix: "/api/v1/auth", App: "auth", Upstream: "/auth",
		PublicPaths: []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh-token", "/api/v1/auth/logout"},
		StrictLimit: true},
	{Prefix: "/api/v1/users", App: "user", Upstream: "/users"},
	{Prefix: "/api/v1/products", App: "product", Upstream: "/products", PublicRead: true},
	{Prefix: "/api/v1/categories", App: "product", Upstream: "/categories", PublicRead: true},
	// A storefront shows availability to anyone; reservations are the
	// caller's own.
	{Prefix: "/api/v1/inventory", App: "inventory", Upstream: "/inventory", PublicRead: true,
		PrivateReads: []string{"/api/v1/inventory/reservations"}},
	// The JWKS is public by nature; it is served by auth at the same path.
	{Prefix: "/.well-known/jwks.json", App: "auth", Upstream: "/.well-known/jwks.json",
		PublicPaths: []string{"/.well-known/jwks.json"}},
}

// Target is where one request goes.
type Target struct {
	Route *Route
	Path  string // the service-native path, e.g. /products/5
}

// Match finds the route for a (cleaned) request path. A prefix matches only
// at a segment boundary: /api/v1/productsX does not match /api/v1/products.
func Match(table []Route, path string) (Target, bool) {
	for i := range table {
		r := &table[i]
		rest, ok := strings.CutPrefix(path, r.Prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		return Target{Route: r, Path: r.Upstream + rest}, true
	}
	return Target{}, false
}

// Public reports whether method on path needs no token. Exact paths only:
// /api/v1/auth/register-anything is not public (the original's prefix match
// made it so).
func (r *Route) Public(method, path string) bool {
	if r.PublicRead && (method == http.MethodGet || method == http.MethodHead) && !r.privateRead(path) {
		return true
	}
	return r.publicPath(path)
}

func (r *Route) privateRead(path string) bool {
	for _, p := range r.PrivateReads {
		if len(path) >= len(p) && strings.EqualFold(path[:len(p)], p) && (len(path) == len(p) || path[len(p)] == '/') {
			return true
		}
	}
	return false
}

// Credential reports whether path authenticates by its body, not by a
// bearer token (PublicPaths).
func (r *Route) Credential(path string) bool { return r.publicPath(path) }

func (r *Route) publicPath(path string) bool {
	for _, p := range r.PublicPaths {
		if path == p || path == p+"/" {
			return true
		}
	}
	return false
}

// Strict reports whether path takes the stricter rate limit.
func (r *Route) Strict(path string) bool {
	return r.StrictLimit && r.publicPath(path)
}

// Idempotent reports whether a request may be replayed safely by its
// method, and so go to the target with retries and a circuit breaker. A
// write with an Idempotency-Key is safe to send again too, but the client
// does that: Dapr counts every 4xx as a breaker failure, and a run of
// business refusals on one write path (409 out of stock) would open its
// breaker for every client.
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}
