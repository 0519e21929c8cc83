package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qeetmart/qeetmart/gateway/identity"
	"github.com/qeetmart/qeetmart/gateway/routing"
	platform "github.com/qeetmart/qeetmart/internal/platform/metrics"
	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// routeLabel is the Locals key in which handlers name their route for
// metrics: a route prefix, never a raw path, so label values stay bounded.
const routeLabel = "metricsRoute"

// metrics are the gateway's Prometheus series, beside every program's
// (platform.Registry: RED per route template, Go, process).
type metrics struct {
	registry       *platform.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	authRejected   *prometheus.CounterVec
	jwksRefreshes  *prometheus.CounterVec
	revocations    *prometheus.CounterVec
	revocationLag  prometheus.Histogram
}

// watchKeys publishes how many of auth's signing keys the gateway holds.
func (m *metrics) watchKeys(count func() int) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gateway_jwks_keys", Help: "Auth signing keys cached; 0 means no token can be verified.",
	}, func() float64 { return float64(count()) }))
}

func newMetrics() *metrics {
	m := &metrics{
		registry: platform.New(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total", Help: "Requests answered, by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_request_duration_seconds", Help: "Time to answer, by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_errors_total", Help: "Calls to a service that failed at the gateway (502, 504).",
		}, []string{"app", "code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_rate_limited_total", Help: "Requests refused with 429.",
		}, []string{"route"}),
		authRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_rejected_total", Help: "Requests refused with 401, by reason.",
		}, []string{"reason"}),
	}
	m.jwksRefreshes = m.registry.Counter("gateway_jwks_refreshes_total", "Fetches of auth's signing keys, by result (ok, failed).", "result")
	m.revocations = m.registry.Counter("gateway_revocations_applied_total", "Revocation events applied, by kind (sessions, user).", "kind")
	m.revocationLag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gateway_revocation_lag_seconds",
		Help:    "From a user's revocation (its notBefore) to this gateway applying it.",
		Buckets: []float64{.05, .1, .25, .5, 1, 1.5, 2, 3, 5, 10, 30}})
	m.registry.MustRegister(m.requests, m.latency, m.upstreamErrors, m.rateLimited, m.authRejected, m.revocationLag)
	m.startAtZero(routing.Table)
	return m
}

// upstreamErrorCodes are the answers of the gateway's own when a call to a
// service fails (gateway/proxy, gateway/inflight.go).
var upstreamErrorCodes = []string{web.CodeUnavailable, web.CodeGatewayTimeout, web.CodeBusy}

// startAtZero creates every series the gateway's counters can have, at 0:
// a rate over a series that appears with its first count misses that count,
// and a dashboard cannot tell a metric that is 0 from one that is missing.
func (m *metrics) startAtZero(routes []routing.Route) {
	for _, r := range routes {
		m.rateLimited.WithLabelValues(r.Prefix)
		for _, code := range upstreamErrorCodes {
			m.upstreamErrors.WithLabelValues(r.App, code)
		}
	}
	m.rateLimited.WithLabelValues("unmatched")
	for _, reason := range rejectReasons {
		m.authRejected.WithLabelValues(reason)
	}
	for _, result := range []string{"ok", "failed"} {
		m.jwksRefreshes.WithLabelValues(result)
	}
	for _, kind := range []string{"user", "sessions"} {
		m.revocations.WithLabelValues(kind)
	}
}

// middleware records every request once its status is known (it runs
// inside the access log, which has already written any error answer).
func (m *metrics) middleware() fiber.Handler {
	return func(c fiber.Ctx) error {
		start := time.Now()
		web.Answer(c, c.Next())
		route, _ := c.Locals(routeLabel).(string)
		if route == "" {
			route = c.Route().Path
		}
		status := strconv.Itoa(c.Response().StatusCode())
		m.requests.WithLabelValues(route, c.Method(), status).Inc()
		m.latency.WithLabelValues(route, status).Observe(time.Since(start).Seconds())
		return nil
	}
}

// handler is the admin port's surface (platform.Registry.Handler).
func (m *metrics) handler() *http.ServeMux { return m.registry.Handler() }

// refreshed counts one fetch of auth's keys.
func (m *metrics) refreshed(err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.jwksRefreshes.WithLabelValues(result).Inc()
}

// revoked counts one applied revocation and, for a user's, its lag.
func (m *metrics) revoked(r identity.Revocation, now time.Time) {
	if r.UserID != "" && !r.NotBefore.IsZero() {
		m.revocations.WithLabelValues("user").Inc()
		m.revocationLag.Observe(now.Sub(r.NotBefore).Seconds())
		return
	}
	m.revocations.WithLabelValues("sessions").Inc()
}
