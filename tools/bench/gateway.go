package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// The gateway benchmark: one endpoint of an echo app, called direct,
// through a bare pair of daprd (the same binary with none of our
// configuration: the ceiling), through our two sidecars (the gateway's
// sidecar, no gateway process), and through the gateway, at fixed rates and
// at saturation (vegeta); each path also as a ratio to the bare pair.

type path struct {
	name   string
	url    string
	header http.Header
}

type result struct {
	path, mode string
	m          vegeta.Metrics
	answered   []time.Duration          // latencies of the 2xx answers, sorted
	cpu        map[string]time.Duration // CPU time each process used in the run
}

// answeredQuantile is the q-quantile latency of the 2xx answers: the
// requests a path accepted (its latencies.P99 counts refusals too).
func (r result) answeredQuantile(q float64) time.Duration {
	if len(r.answered) == 0 {
		return 0
	}
	return r.answered[min(len(r.answered)-1, int(q*float64(len(r.answered))))]
}

func runGateway(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench gateway", flag.ContinueOnError)
	out := fs.String("out", "docs/bench/gateway.md", "report file")
	rate := fs.Int("rate", 0, "the overload's request rate per second (0: twice what the gateway path sustained at saturation in this run, issue 14 item 3)")
	lowRate := fs.Int("low-rate", 500, "a fixed rate every path sustains here")
	duration := fs.Duration("duration", 10*time.Second, "length of each run")
	workers := fs.Uint64("workers", 50, "concurrent workers at saturation")
	keep := fs.Bool("keep", false, "keep the run folder (logs) and print its path")
	profile := fs.String("profile", "", "write a 10 s CPU profile of the gateway at saturation to this file")
	inFlight := fs.Int("max-in-flight", 0, "the gateway's UPSTREAM_MAX_IN_FLIGHT_PER_APP (0: its default)")
	floor := fs.Int("adaptive-floor", 0, "the gateway's UPSTREAM_ADAPTIVE_FLOOR (0: its default)")
	adaptive := fs.Bool("adaptive-limit", true, "the echo service's bound adapts (UPSTREAM_ADAPTIVE_APPS=product, as by default); false: fixed")
	logLevel := fs.String("log-level", "warn", "the apps' and sidecars' log level (info: the gateway writes its access log)")
	sampling := fs.String("sampling", "", "share of new traces sampled, in the apps and every sidecar (parent-based; default: the configuration's 1)")
	gogc := fs.String("gateway-gogc", "", "the gateway's GOGC (default: Go's, 100)")
	gomaxprocs := fs.String("gateway-gomaxprocs", "", "the gateway's GOMAXPROCS (default: Go's, the CPU count)")
	daprMetrics := fs.Bool("dapr-metrics", true, "our sidecars' metrics (spec.metrics.enabled; the bare pair keeps daprd's default, on)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	signer := testjwt.NewSigner("bench")
	s, err := startStack(ctx, []string{"gateway", "auth", "product"}, []string{"gateway", "product"}, *keep, stdout, func(o *stack.Options) {
		o.UseEcho("auth", "TEST_JWKS="+string(testjwt.JWKS(signer)))
		// Access logs go to files in every path alike; the limits are
		// lifted so the benchmark measures forwarding, not the limiter's
		// 429s.
		o.UseEcho("product")
		o.SamplingRate = *sampling
		o.NoDaprMetrics = !*daprMetrics
		o.LogLevel = *logLevel
		o.AddEnv("gateway", "RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000")
		if !*adaptive {
			o.AddEnv("gateway", "UPSTREAM_ADAPTIVE_APPS=none")
		}
		if *inFlight > 0 {
			o.AddEnv("gateway", fmt.Sprintf("UPSTREAM_MAX_IN_FLIGHT_PER_APP=%d", *inFlight))
		}
		if *floor > 0 {
			o.AddEnv("gateway", fmt.Sprintf("UPSTREAM_ADAPTIVE_FLOOR=%d", *floor))
		}
		if *gogc != "" {
			o.AddEnv("gateway", "GOGC="+*gogc)
		}
		if *gomaxprocs != "" {
			o.AddEnv("gateway", "GOMAXPROCS="+*gomaxprocs)
		}
	})
	if err != nil {
		return err
	}
	defer s.Close()
	procs := s.procs
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	bareDir, err := os.MkdirTemp("", "qeetmart-bare-")
	if err != nil {
		return err
	}
	bare, err := stack.StartBarePair(ctx, filepath.Join(root, "bin", "daprd"), filepath.Join(root, "bin", "echoapp"), bareDir, "ECHO_APP_ID=bare-callee")
	if err != nil {
		return err // its logs stay in bareDir
	}
	if !*keep {
		defer os.RemoveAll(bareDir)
	}
	defer bare.Stop()
	maps.Copy(procs, bare.PIDs)

	p := s.Ports("product")
	paths := []path{
		{"direct", fmt.Sprintf("http://127.0.0.1:%d/products/1", p.App), http.Header{"Dapr-Api-Token": {s.AppAPIToken("product")}}},
		{"bare sidecars", bare.URL, bare.Header},
		// The gateway's sidecar, as the gateway calls it: our two sidecars
		// without the gateway process (a service's own sidecar serves no
		// service invocation: dapr/config/product.yaml).
		{"sidecars", fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/product/method/products/1", s.Ports("gateway").HTTP), http.Header{"Dapr-Api-Token": {s.DaprAPIToken("gateway")}}},
		{"gateway", fmt.Sprintf("http://127.0.0.1:%d/api/v1/products/1", s.Ports("gateway").App), http.Header{}},
	}
	var results []result
	low, saturation := fmt.Sprintf("%d req/s", *lowRate), fmt.Sprintf("saturation (%d workers)", *workers)
	// Saturation comes before the overload, whose rate is twice what the
	// gateway path sustained: the same overload on any machine.
	for _, phase := range []string{"low", "saturation", "overload"} {
		mode, order, warmRate := low, paths, 500
		switch phase {
		case "saturation":
			mode = saturation
		case "overload":
			if *rate == 0 {
				*rate = 2 * int(find(results, saturation, "gateway").m.Throughput)
			}
			mode, warmRate = fmt.Sprintf("%d req/s", *rate), *rate
			// The gateway path goes first: the others do not shed, and the
			// backlog an overload leaves in their sidecars would be the
			// next path's load. Its warm-up is the overload itself: the
			// gateway's adaptive bound starts at its maximum and comes down
			// to size in its first second (docs/benchmarks.md).
			order = append([]path{paths[len(paths)-1]}, paths[:len(paths)-1]...)
		}
		for _, pt := range order {
			warm(pt, warmRate, 2*time.Second)
			before := procs.snapshot()
			var m vegeta.Metrics
			var answered []time.Duration
			switch phase {
			case "low":
				m, answered = attack(pt, vegeta.Rate{Freq: *lowRate, Per: time.Second}, *duration, 0)
			case "saturation":
				if *profile != "" && pt.name == "gateway" {
					go saveProfile(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=10", s.Ports("gateway").Admin), *profile)
				}
				m, answered = attack(pt, vegeta.Rate{}, *duration, *workers)
			default:
				m, answered = attack(pt, vegeta.Rate{Freq: *rate, Per: time.Second}, *duration, 0)
			}
			after := procs.snapshot()
			r := result{pt.name, mode, m, answered, cpuSince(before, after)}
			fmt.Fprintln(stdout, line(r))
			results = append(results, r)
		}
	}
	return writeReport(*out, results, *lowRate, *rate, *duration, saturation, cmp.Or(*sampling, "1"))
}

// find is the result of path in mode.
func find(results []result, mode, path string) result {
	for _, r := range results {
		if r.mode == mode && r.path == path {
			return r
		}
	}
	return result{}
}

func saveProfile(url, file string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

func warm(p path, rate int, d time.Duration) {
	attack(p, vegeta.Rate{Freq: rate, Per: time.Second}, d, 0)
}

// maxInFlight bounds the requests a fixed-rate attack has in flight;
// beyond it requests start late (the path is queueing anyway).
const maxInFlight = 4096

// attack sends p's request at rate (or, with workers, as fast as they
// can) for d: the metrics of every request, and the latencies of the 2xx
// answers, sorted.
func attack(p path, rate vegeta.Rate, d time.Duration, workers uint64) (vegeta.Metrics, []time.Duration) {
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(10 * time.Second)}
	if workers > 0 {
		opts = append(opts, vegeta.Workers(workers), vegeta.MaxWorkers(workers), vegeta.Connections(int(workers)))
	} else {
		// At a fixed rate vegeta opens a connection for every request in
		// flight: against a path that queues for seconds (the bare pair
		// overloaded) that ran the load generator out of file descriptors
		// and lost the whole report.
		opts = append(opts, vegeta.MaxWorkers(maxInFlight))
	}
	atk := vegeta.NewAttacker(opts...)
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: p.url, Header: p.header})
	var m vegeta.Metrics
	var answered []time.Duration
	for res := range atk.Attack(tr, rate, d, p.name) {
		m.Add(res)
		if res.Code >= 200 && res.Code < 300 {
			answered = append(answered, res.Latency)
		}
	}
	m.Close()
	slices.Sort(answered)
	return m, answered
}

// cpuPerRequest is a process's CPU time per successful request, in µs.
func cpuPerRequest(r result, proc string) string {
	ok := float64(r.m.Requests) * r.m.Success
	if _, known := r.cpu[proc]; ok == 0 || !known {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(r.cpu[proc].Microseconds())/ok)
}

func line(r result) string {
	return fmt.Sprintf("| %s | %s | %.0f | %.2f%% | %s | %s | %s | %s | %s | %s | %s | %s |", r.mode, r.path, r.m.Throughput, r.m.Success*100,
		ms(r.m.Latencies.P50), ms(r.m.Latencies.P99), ms(r.m.Latencies.Max),
		cpuPerRequest(r, "gateway"), cpuPerRequest(r, "gateway daprd")+" / "+cpuPerRequest(r, "bare caller daprd"),
		cpuPerRequest(r, "product daprd")+" / "+cpuPerRequest(r, "bare callee daprd"), cpuPerRequest(r, "product")+" / "+cpuPerRequest(r, "bare stub"),
		cpuPerRequest(r, loadGenerator))
}

func writeReport(file string, results []result, lowRate, rate int, d time.Duration, saturation, sampling string) error {
	var b strings.Builder
	reportHeader(&b, "Gateway benchmark", "make bench-gateway", "go run ./tools/bench gateway", d)
	fmt.Fprintf(&b, "Traces sampled in our paths: %s (parent-based: the gateway decides, every sidecar follows; W3C context travels on every request).\n\n", sampling)
	b.WriteString("Paths: `direct` calls the echo app on its port; `bare sidecars` through two daprd of the same binary with none of our configuration (no mTLS, tracing, resiliency, access control or API allow-list: the ceiling); `sidecars` through our two (the gateway's sidecar invoking the service's); `gateway` through the gateway and our two sidecars. CPU columns: our process / the bare pair's counterpart; the load generator is this benchmark's own process, on the same two cores.\n\n")
	fmt.Fprintf(&b, "| load | path | throughput (req/s) | success | p50 (ms) | p99 (ms) | max (ms) | gateway CPU µs/req | calling daprd CPU µs/req (ours / bare) | called daprd CPU µs/req (ours / bare) | app CPU µs/req (ours / bare) | load generator CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	byKey := map[string]vegeta.Metrics{}
	runs := map[string]result{}
	for _, r := range results {
		fmt.Fprintln(&b, line(r))
		byKey[r.mode+"/"+r.path] = r.m
		runs[r.mode+"/"+r.path] = r
	}
	low := fmt.Sprintf("%d req/s", lowRate)
	ceiling, calm := byKey[saturation+"/bare sidecars"], byKey[low+"/bare sidecars"]
	b.WriteString("\nAs a ratio to the bare pair (throughput at saturation: higher is better; latency at " + low + ", which every path sustains: lower is better):\n\n| path | throughput | p50 | p99 |\n|---|---|---|---|\n")
	for _, path := range []string{"sidecars", "gateway"} {
		sat, fixed := byKey[saturation+"/"+path], byKey[low+"/"+path]
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f |\n", path, sat.Throughput/ceiling.Throughput,
			float64(fixed.Latencies.P50)/float64(calm.Latencies.P50), float64(fixed.Latencies.P99)/float64(calm.Latencies.P99))
	}
	for _, r := range []int{lowRate, rate} {
		fixed := fmt.Sprintf("%d req/s", r)
		g, s := byKey[fixed+"/gateway"], byKey[fixed+"/sidecars"]
		fmt.Fprintf(&b, "\nAt %d req/s, gateway path minus sidecars path: %s ms at p50, %s ms at p99 (success %.1f%% vs %.1f%%).",
			r, ms(g.Latencies.P50-s.Latencies.P50), ms(g.Latencies.P99-s.Latencies.P99), g.Success*100, s.Success*100)
	}
	fmt.Fprintf(&b, "\nBoth paths cross the same two sidecars (mTLS between them); the difference is the gateway process. The CPU columns split the cost by process.\n")
	calmGateway, loaded := runs[low+"/gateway"], runs[fmt.Sprintf("%d req/s/gateway", rate)]
	fmt.Fprintf(&b, "\nShedding (issue 14 item 3): at %d req/s (unless set, twice what the gateway path sustained at saturation) the gateway answered %.1f%% (%.0f/s); the answered requests' p50 %s ms and p99 %s ms, against p99 %s ms at %s: **%.2f×** (goal ≤ 2×).\n",
		rate, loaded.m.Success*100, loaded.m.Throughput, ms(loaded.answeredQuantile(0.5)), ms(loaded.answeredQuantile(0.99)),
		ms(calmGateway.answeredQuantile(0.99)), low, float64(loaded.answeredQuantile(0.99))/float64(calmGateway.answeredQuantile(0.99)))
	return writeFile(file, b.String())
}
