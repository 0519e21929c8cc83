package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qeetmart/qeetmart/internal/stack"
)

// The auth benchmark: register, login and refresh through the gateway, the
// real auth service and both sidecars, closed-loop (each worker sends its
// next request when the last is answered), at one worker (latency alone)
// and at saturation. Refresh tokens are single-use, so each worker chains
// its own session: every refresh spends the token the previous one returned.

// authStep is one request of a scenario by one worker.
type authStep func(ctx context.Context, worker, i int) error

type loadResult struct {
	scenario  string
	workers   int
	ok, fails int
	elapsed   time.Duration
	latencies []time.Duration // of successful requests, sorted
	cpu       map[string]time.Duration
}

// rate is the successful requests per second.
func (r loadResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

func closedLoop(ctx context.Context, workers int, d time.Duration, step authStep) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		fails atomic.Int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if err := step(ctx, w, i); err != nil {
					if ctx.Err() == nil {
						fails.Add(1)
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	return loadResult{workers: workers, ok: len(lat), fails: int(fails.Load()), elapsed: time.Since(start), latencies: lat}
}

// authAPI is a client of the gateway's auth routes.
type authAPI struct {
	base   string
	client *http.Client
}

type tokenPair struct {
	AccessToken, RefreshToken string
}

func (a authAPI) post(ctx context.Context, path string, body any, want int) (tokenPair, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return tokenPair{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(raw))
	if err != nil {
		return tokenPair{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return tokenPair{}, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return tokenPair{}, err
	}
	if resp.StatusCode != want {
		return tokenPair{}, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, answer)
	}
	var p tokenPair
	return p, json.Unmarshal(answer, &p)
}

func runAuth(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench auth", flag.ContinueOnError)
	out := fs.String("out", "docs/bench/auth.md", "report file")
	duration := fs.Duration("duration", 10*time.Second, "length of each run")
	workers := fs.Int("workers", 8, "concurrent workers at saturation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The gateway's per-address limits would answer 429s from one load
	// generator; they are lifted so the benchmark measures auth's work.
	s, err := startStack(ctx, []string{"gateway", "auth"}, []string{"gateway", "auth"}, false, stdout, func(o *stack.Options) {
		o.AddEnv("gateway", "RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000", "AUTH_RATE_LIMIT_RPS=1000000", "AUTH_RATE_LIMIT_BURST=1000000")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	procs := s.procs
	api := authAPI{
		base:   fmt.Sprintf("http://127.0.0.1:%d/api/v1", s.Ports("gateway").App),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *workers}},
	}
	const password = "correct horse battery staple"
	if _, err := api.post(ctx, "/auth/register", map[string]string{"email": "bench@example.com", "password": password}, http.StatusCreated); err != nil {
		return err
	}

	var seq atomic.Int64
	register := func(ctx context.Context, _, _ int) error {
		email := fmt.Sprintf("user%d@bench.example.com", seq.Add(1))
		_, err := api.post(ctx, "/auth/register", map[string]string{"email": email, "password": password}, http.StatusCreated)
		return err
	}
	login := func(ctx context.Context, _, _ int) error {
		_, err := api.post(ctx, "/auth/login", map[string]string{"email": "bench@example.com", "password": password}, http.StatusOK)
		return err
	}
	var chains []string // each worker's next refresh token
	refresh := func(ctx context.Context, w, _ int) error {
		p, err := api.post(ctx, "/auth/refresh-token", map[string]string{"refreshToken": chains[w]}, http.StatusOK)
		if err != nil {
			return err
		}
		chains[w] = p.RefreshToken
		return nil
	}

	var results []loadResult
	for _, sc := range []struct {
		name string
		step authStep
	}{{"register", register}, {"login", login}, {"refresh", refresh}} {
		for _, n := range []int{1, *workers} {
			if sc.name == "refresh" {
				chains = make([]string, n)
				for w := range chains {
					p, err := api.post(ctx, "/auth/login", map[string]string{"email": "bench@example.com", "password": password}, http.StatusOK)
					if err != nil {
						return err
					}
					chains[w] = p.RefreshToken
				}
			}
			before := procs.snapshot()
			r := closedLoop(ctx, n, *duration, sc.step)
			after := procs.snapshot()
			r.scenario, r.cpu = sc.name, cpuSince(before, after)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if r.ok == 0 {
				return errors.New(sc.name + ": no request succeeded")
			}
			fmt.Fprintln(stdout, authLine(r))
			results = append(results, r)
		}
	}
	return writeAuthReport(*out, results, *duration)
}

func perRequest(r loadResult, proc string) string {
	if _, known := r.cpu[proc]; !known || r.ok == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(r.cpu[proc].Microseconds())/float64(r.ok))
}

func authLine(r loadResult) string {
	return fmt.Sprintf("| %s | %d | %.1f | %d | %s | %s | %s | %s | %s | %s | %s |", r.scenario, r.workers,
		r.rate(), r.fails, ms(r.quantile(0.5)), ms(r.quantile(0.99)), ms(r.latencies[len(r.latencies)-1]),
		perRequest(r, "auth"), perRequest(r, "auth daprd"), perRequest(r, "gateway"), perRequest(r, "gateway daprd"))
}

func writeAuthReport(file string, results []loadResult, d time.Duration) error {
	var b strings.Builder
	reportHeader(&b, "Auth benchmark", "make bench-auth", "go run ./tools/bench auth", d)
	fmt.Fprintf(&b, "Closed loop through the gateway, both sidecars (mTLS) and auth on PostgreSQL; argon2id at auth's defaults (m=19456 KiB, t=2, p=1).\n\n")
	fmt.Fprintf(&b, "| scenario | workers | throughput (req/s) | errors | p50 (ms) | p99 (ms) | max (ms) | auth CPU µs/req | auth daprd CPU µs/req | gateway CPU µs/req | gateway daprd CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintln(&b, authLine(r))
	}
	return writeFile(file, b.String())
}
