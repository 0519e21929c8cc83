// Package metrics is what every program exports for Prometheus on its
// admin address, apart from its public port: RED metrics of its HTTP
// server per route template (OpenTelemetry's http.server.request.duration,
// in Prometheus's spelling), Go and process metrics, the program's own
// series, and Go's profiler.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qeetmart/qeetmart/internal/platform/web"
)

// Registry is one program's series.
type Registry struct {
	*prometheus.Registry
	duration *prometheus.HistogramVec
}

// New starts a registry with the HTTP server's RED histogram and the Go
// runtime's and the process's series.
func New() *Registry {
	r := &Registry{Registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_server_request_duration_seconds",
			Help: "Time to answer a request, by route template, method and status: its count is the request rate, " +
				"its 5xx share the error rate.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"http_route", "http_request_method", "http_response_status_code"})}
	r.MustRegister(r.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Server records every request once its status is known, under its route
// template (/products/:id, never the raw path: label values stay bounded).
// It must run outside the handlers' error answers (web.Answer).
func (r *Registry) Server() fiber.Handler {
	return func(c fiber.Ctx) error {
		start := time.Now()
		web.Answer(c, c.Next())
		r.duration.WithLabelValues(c.Route().Path, c.Method(), strconv.Itoa(c.Response().StatusCode())).
			Observe(time.Since(start).Seconds())
		return nil
	}
}

// Counter registers a counter with labels.
func (r *Registry) Counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.MustRegister(c)
	return c
}

// Histogram registers a histogram with labels.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	r.MustRegister(h)
	return h
}

// Gauge registers a gauge read when scraped.
func (r *Registry) Gauge(name, help string, value func() float64) {
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, value))
}

// Handler is the admin address's surface: /metrics, and Go's profiler for
// operators (the admin address is loopback unless configured otherwise).
func (r *Registry) Handler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// Serve serves h on addr until ctx ends.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", addr, err)
	}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}
