package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/services/product/app"
	"github.com/qeetmart/qeetmart/services/product/domain"
	"github.com/qeetmart/qeetmart/services/product/store"
)

// The product benchmark: the catalog's reads over many products, at the
// service (its own port, as its sidecar calls it) and through the gateway
// (both sidecars, mTLS), one request at a time (latency) and 16 at a time
// (throughput). The products are created through the service's API, with
// variants, as an admin would.

var (
	benchBrands = strings.Fields("Sony Bose Apple Samsung JBL Sennheiser Logitech Anker Philips Dell Lenovo Asus Acer Canon Nikon Garmin Fitbit Xiaomi OnePlus Razer")
	benchAdjs   = strings.Fields("Wireless Compact Pro Ultra Mini Max Smart Portable Classic Studio Sport Lite Prime Air Neo Flex Edge Core Pulse Nova")
	benchNouns  = strings.Fields("Headphones Speaker Keyboard Mouse Monitor Charger Camera Watch Tablet Laptop Earbuds Router Microphone Webcam Soundbar Projector Drone Gamepad Lamp Backpack")
)

// serviceAPI calls a service on one base URL: the service's own port (with
// its sidecar's token, as the sidecar calls it) or the gateway (with a
// bearer token in header). admin sends the caller headers of an admin, as
// the gateway would after verifying one.
type serviceAPI struct {
	base   string
	header http.Header
	client *http.Client
}

// do sends one request and wants status want. A 503 (the service shed the
// request, refused it while its event relay catches up, or ran out of its
// deadline on a busy machine, and says to try again) is sent again after a
// second, for up to busyRetries seconds: seeding 100,000 products must
// wait for the relay, not fail. A create the first try committed anyway
// is then made twice (a product, under a suffixed slug: a benchmark's
// catalog can bear it) or refused as a clash (a variant's SKU: 409, which
// then means done, with no body).
const busyRetries = 300

func (c serviceAPI) do(ctx context.Context, method, path string, body any, admin bool, want int) ([]byte, error) {
	for try := 1; ; try++ {
		raw, status, err := c.once(ctx, method, path, body, admin)
		if err != nil {
			return nil, err
		}
		if try > 1 && method == http.MethodPost && status == http.StatusConflict {
			return nil, nil
		}
		if status == http.StatusServiceUnavailable && try < busyRetries {
			select {
			case <-time.After(time.Second):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if status != want {
			return nil, fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, status, raw)
		}
		return raw, nil
	}
}

func (c serviceAPI) once(ctx context.Context, method, path string, body any, admin bool) ([]byte, int, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		r = strings.NewReader(string(raw))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("X-User-Id", "0190f5c2-0000-7000-8000-0000000000ad")
		req.Header.Set("X-User-Role", app.RoleAdmin)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	return raw, resp.StatusCode, nil
}

func runProduct(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench product", flag.ContinueOnError)
	out := fs.String("out", "docs/bench/product.md", "report file")
	products := fs.Int("products", 100_000, "products to seed")
	duration := fs.Duration("duration", 5*time.Second, "length of each run")
	keep := fs.Bool("keep", false, "keep the run folder (logs)")
	deep := fs.Int("deep", 500, "the deep page measured (of 20 products; the listing holds products/5)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := startStack(ctx, []string{"gateway", "product"}, []string{"gateway", "product"}, *keep, stdout, func(o *stack.Options) {
		o.AddEnv("gateway", "RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000")
		// The relay keeps up with the seeding (5,000 events/s, not 500).
		o.AddEnv("product", "PRODUCT_EVENT_BATCH=1000")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	direct := func() serviceAPI {
		return serviceAPI{base: fmt.Sprintf("http://127.0.0.1:%d", s.Ports("product").App),
			header: http.Header{"Dapr-Api-Token": {s.AppAPIToken("product")}}, client: client}
	}
	gateway := serviceAPI{base: fmt.Sprintf("http://127.0.0.1:%d/api/v1", s.Ports("gateway").App), client: client}

	catalog, closeCatalog, err := newSeedCatalog(ctx, s)
	if err != nil {
		return err
	}
	defer closeCatalog()
	seedStart := time.Now()
	stopVacuum := vacuumWhile(ctx, s.DSN("product"), 15*time.Second, stdout)
	seed, err := seedCatalog(ctx, catalog, *products, stdout)
	stopVacuum()
	if err != nil {
		return err
	}
	seeded := time.Since(seedStart)
	fmt.Fprintf(stdout, "seeded %d products (%d variants) in %d categories with the product service's use cases in %s\n",
		*products, seed.variants, len(seed.categories), seeded.Round(time.Second))

	conn, err := pgx.Connect(ctx, s.DSN("product"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// Measuring reads while the relay publishes a backlog would measure
	// the relay.
	drained, err := drainOutbox(ctx, conn)
	if err != nil {
		return err
	}
	seed.drained = drained
	fmt.Fprintf(stdout, "the relay had published every event %s after the last write\n", drained.Round(time.Second))
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE state"); err != nil {
		return err
	}

	category := seed.categories[0]
	listing := "categoryId=" + category + "&sort=price"
	deepCursor, err := cursorAt(ctx, direct(), "/products?"+listing+"&limit=20", *deep)
	if err != nil {
		return err
	}
	search := "query=wireless%20head"
	shown := seed.shown()
	hot := shown[:100]
	scenarios := []productScenario{
		{name: "GET /products/{id}, cached (100 hot ids)", path: func(i int) string { return "/products/" + hot[i%len(hot)] }},
		{name: "filtered sorted page, cursor, page 1", path: fixed("/products?" + listing + "&limit=20")},
		{name: fmt.Sprintf("filtered sorted page, cursor, page %d", *deep), path: fixed("/products?" + listing + "&limit=20&cursor=" + deepCursor)},
		{name: "filtered sorted page, offset, page 1", path: fixed("/products?" + listing + "&size=20&page=0")},
		{name: fmt.Sprintf("filtered sorted page, offset, page %d", *deep), path: fixed(fmt.Sprintf("/products?%s&size=20&page=%d", listing, *deep-1))},
		{name: "search `wireless head`, cursor, page 1", path: fixed("/products/search?" + search + "&limit=20")},
		{name: "search `wireless head`, offset, page 1", path: fixed("/products/search?" + search + "&size=20&page=0")},
	}
	var results []productResult
	measure := func(sc productScenario) error {
		for _, target := range []struct {
			name string
			api  serviceAPI
		}{{"service", direct()}, {"gateway", gateway}} {
			for _, workers := range []int{1, 16} {
				r, err := measureProduct(ctx, s, target.api, sc, workers, *duration)
				if err != nil {
					return fmt.Errorf("%s via %s: %w", sc.name, target.name, err)
				}
				r.via = target.name
				fmt.Fprintln(stdout, r.line())
				results = append(results, r)
			}
		}
		return nil
	}
	for _, sc := range scenarios {
		if err := measure(sc); err != nil {
			return err
		}
	}

	// Uncached: the same service with its cache off (PRODUCT_CACHE_TTL=0),
	// random ids over the whole catalog.
	if err := s.StopApp("product"); err != nil {
		return err
	}
	s.SetEnv("product", "PRODUCT_CACHE_TTL=0")
	if err := s.StartApp("product"); err != nil {
		return err
	}
	readyCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	err = s.WaitAppReady(readyCtx, "product")
	cancel()
	if err != nil {
		return err
	}
	a, d := s.PIDs("product")
	s.procs["product"], s.procs["product daprd"] = a, d
	uncached := productScenario{name: "GET /products/{id}, uncached (cache off, random ids)", path: func(int) string { return "/products/" + shown[rand.IntN(len(shown))] }}
	if err := measure(uncached); err != nil {
		return err
	}

	plans, err := catalogPlans(ctx, s, listing, deepCursor, *deep, search)
	if err != nil {
		return err
	}
	return writeProductReport(*out, *products, seed, seeded, results, plans, *duration)
}

type productScenario struct {
	name string
	path func(i int) string
}

func fixed(path string) func(int) string { return func(int) string { return path } }

type productResult struct {
	loadResult
	via string
}

func (r productResult) line() string {
	return fmt.Sprintf("| %s | %s | %d | %.0f | %s | %s | %s | %s |", r.scenario, r.via, r.workers, r.rate(),
		ms(r.quantile(0.5)), ms(r.quantile(0.99)), perRequest(r.loadResult, "product"), perRequest(r.loadResult, "product daprd"))
}

func measureProduct(ctx context.Context, s *benchStack, api serviceAPI, sc productScenario, workers int, d time.Duration) (productResult, error) {
	step := func(ctx context.Context, w, i int) error {
		_, err := api.do(ctx, http.MethodGet, sc.path(w*1_000_003+i), nil, false, http.StatusOK)
		return err
	}
	closedLoop(ctx, workers, time.Second, step) // warm: connections, caches
	before := s.procs.snapshot()
	r := closedLoop(ctx, workers, d, step)
	after := s.procs.snapshot()
	if ctx.Err() != nil {
		return productResult{}, ctx.Err()
	}
	if r.ok == 0 || r.fails > 0 {
		_, err := api.do(ctx, http.MethodGet, sc.path(0), nil, false, http.StatusOK)
		return productResult{}, fmt.Errorf("%d of %d failed: %v", r.fails, r.ok+r.fails, err)
	}
	r.scenario, r.cpu = sc.name, cpuSince(before, after)
	return productResult{loadResult: r}, nil
}

type catalogSeed struct {
	categories []string
	ids        []string // in creation order
	variants   int
	drained    time.Duration // from the last write until no event was left unpublished
}

// drainOutbox waits until no event is left unpublished (the relay deletes
// each once it has published it), for at most 30 minutes.
func drainOutbox(ctx context.Context, conn *pgx.Conn) (time.Duration, error) {
	start := time.Now()
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM state WHERE key LIKE 'product||event:%'`).Scan(&n); err != nil {
			return 0, err
		}
		if n == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > 30*time.Minute {
			return 0, fmt.Errorf("%d events still unpublished after 30 minutes", n)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// vacuumWhile runs VACUUM on the state table of dsn every interval until
// the returned stop is called (and has waited for the last one). Seeding
// updates the same few records (category holds) tens of thousands of
// times; autovacuum would clean their dead versions as it goes, but this
// machine's PostgreSQL runs with autovacuum off
// (/etc/postgresql/15/main/conf.d/90-ci.conf), and without it every read
// of those records walks all their dead versions: the seeding slowed from
// 189 to under 100 products/s as they piled up.
func vacuumWhile(ctx context.Context, dsn string, interval time.Duration, log io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			fmt.Fprintln(log, "vacuum:", err)
			return
		}
		defer conn.Close(context.Background())
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := conn.Exec(ctx, "VACUUM state"); err != nil && ctx.Err() == nil {
				fmt.Fprintln(log, "vacuum:", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// seedWriters is how many products are created at once.
const seedWriters = 16

// newSeedCatalog is the product service's own use cases in this process,
// writing through the product's sidecar to its store: every record and
// every event as the service writes them, without the HTTP API's write
// admission, which paces writers to what the event relay publishes (the
// bench starts the service with a larger relay batch instead).
func newSeedCatalog(ctx context.Context, s *benchStack) (*app.Catalog, func(), error) {
	db, err := readmodel.Open(ctx, s.DSN("product"), "product")
	if err != nil {
		return nil, nil, err
	}
	dapr := sidecar.New(s.Ports("product").HTTP, s.DaprAPIToken("product"))
	return app.New(store.New(statestore.New(dapr, "product-store"), store.NewReadModel(db)), app.CacheOptions{}), db.Close, nil
}

// seedAdmin is who the seeder writes as.
var seedAdmin = app.Caller{UserID: "bench", Role: authtoken.RoleAdmin}

// seedCatalog creates 5 categories and n products with the service's use
// cases, seedWriters at a time; every other product gets a variant, every
// fourth a second one.
func seedCatalog(ctx context.Context, catalog *app.Catalog, n int, progress io.Writer) (catalogSeed, error) {
	var seed catalogSeed
	for i := range 5 {
		c, err := catalog.CreateCategory(ctx, seedAdmin, domain.CategoryFields{Name: fmt.Sprintf("Category %d", i)})
		if err != nil {
			return seed, err
		}
		seed.categories = append(seed.categories, c.ID)
	}
	ids := make([]string, n)
	var next, variants, seeded atomic.Int64
	start := time.Now()
	errs := make(chan error, seedWriters)
	var wg sync.WaitGroup
	for range seedWriters {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				id, v, err := seedProduct(ctx, catalog, seed.categories, i)
				if err != nil {
					errs <- fmt.Errorf("seed product %d: %w", i, err)
					return
				}
				ids[i] = id
				variants.Add(int64(v))
				if done := seeded.Add(1); done%10_000 == 0 {
					fmt.Fprintf(progress, "seeded %d products, %.0f/s\n", done, float64(done)/time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	seed.ids, seed.variants = ids, int(variants.Load())
	return seed, errors.Join(<-errs, ctx.Err())
}

// shown is the ids of the products shoppers see (seedProduct makes every
// 20th, from the 13th on, INACTIVE).
func (c catalogSeed) shown() []string {
	var out []string
	for i, id := range c.ids {
		if i%20 != 13 {
			out = append(out, id)
		}
	}
	return out
}

func seedProduct(ctx context.Context, catalog *app.Catalog, categories []string, i int) (string, int, error) {
	brand, adj, noun := benchBrands[i%len(benchBrands)], benchAdjs[(i/7)%len(benchAdjs)], benchNouns[(i/3)%len(benchNouns)]
	status := "ACTIVE"
	switch i % 20 {
	case 7:
		status = "OUT_OF_STOCK"
	case 13:
		status = "INACTIVE"
	}
	p, err := catalog.CreateProduct(ctx, seedAdmin, domain.ProductFields{
		Name:        fmt.Sprintf("%s %s %s %d", brand, adj, noun, i),
		Description: fmt.Sprintf("The %s %s by %s: a %s choice for every day.", strings.ToLower(adj), strings.ToLower(noun), brand, strings.ToLower(benchAdjs[i%len(benchAdjs)])),
		Brand:       brand,
		CategoryID:  categories[i%len(categories)],
		Price:       fmt.Sprintf("%d.%02d", 5+(i*7919)%2000, i%100),
		Currency:    "USD",
		Status:      status,
		Images:      []string{fmt.Sprintf("https://img.example.com/p/%d.jpg", i)},
	})
	if err != nil {
		return "", 0, err
	}
	variants := 0
	for v := range 2 {
		if i%(2*(v+1)) != 0 {
			break
		}
		_, err := catalog.AddVariant(ctx, seedAdmin, p.ID, domain.VariantFields{
			SKU: fmt.Sprintf("SKU-%06d-%d", i, v), Color: []string{"black", "white"}[v], Size: "M", AdditionalPrice: fmt.Sprint(v * 5),
		})
		if err != nil {
			return "", 0, err
		}
		variants++
	}
	return p.ID, variants, nil
}

// cursorAt follows nextCursor from path to the cursor of page n.
func cursorAt(ctx context.Context, api serviceAPI, path string, n int) (string, error) {
	cursor := ""
	for page := 1; page < n; page++ {
		p := path
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		raw, err := api.do(ctx, http.MethodGet, p, nil, false, http.StatusOK)
		if err != nil {
			return "", err
		}
		var slice struct{ NextCursor *string }
		if err := json.Unmarshal(raw, &slice); err != nil {
			return "", err
		}
		if slice.NextCursor == nil {
			return "", fmt.Errorf("%s ends before page %d", path, n)
		}
		cursor = *slice.NextCursor
	}
	return cursor, nil
}

// catalogPlans asks PostgreSQL how it runs the measured listing and search
// queries, as the service builds them (store.ReadModel's plans).
func catalogPlans(ctx context.Context, s *benchStack, listing, deepCursor string, deep int, search string) ([][2]string, error) {
	db, err := readmodel.Open(ctx, s.DSN("product"), "product")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rm := store.NewReadModel(db)
	shopper := app.Caller{}
	var out [][2]string
	add := func(name string, plans map[string]string, err error) error {
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(plans)) {
			out = append(out, [2]string{name + " (" + k + ")", plans[k]})
		}
		return nil
	}
	params := func(query string) app.ProductParams {
		v, _ := url.ParseQuery(query)
		return app.ProductParams{CategoryID: v.Get("categoryId"), Sort: v.Get("sort"), Limit: v.Get("limit"), Cursor: v.Get("cursor"), Page: v.Get("page"), Size: v.Get("size")}
	}
	for _, q := range []struct{ name, query string }{
		{fmt.Sprintf("filtered sorted page, cursor, page %d", deep), listing + "&limit=20&cursor=" + deepCursor},
		{fmt.Sprintf("filtered sorted page, offset, page %d", deep), fmt.Sprintf("%s&size=20&page=%d", listing, deep-1)},
	} {
		pq, err := params(q.query).Query(shopper)
		if err != nil {
			return nil, err
		}
		plans, err := rm.ListingPlans(ctx, pq)
		if err := add(q.name, plans, err); err != nil {
			return nil, err
		}
	}
	for _, q := range []struct{ name, query string }{
		{"search, cursor, page 1", search + "&limit=20"},
		{"search, offset, page 1", search + "&size=20&page=0"},
	} {
		v, _ := url.ParseQuery(q.query)
		sq, err := app.SearchParams{Query: v.Get("query"), Limit: v.Get("limit"), Page: v.Get("page"), Size: v.Get("size")}.Search(shopper)
		if err != nil {
			return nil, err
		}
		plans, err := rm.SearchPlans(ctx, sq)
		if err := add(q.name, plans, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func writeProductReport(file string, products int, seed catalogSeed, seeded time.Duration, results []productResult, plans [][2]string, d time.Duration) error {
	var b strings.Builder
	reportHeader(&b, "Product catalog benchmark", "make bench-product", "go run ./tools/bench product", d)
	fmt.Fprintf(&b, "%d products (%d variants) in %d categories, created with the product service's own use cases in the bench process (16 at a time, each write and its event through the product's sidecar, as the service writes them) in %s; the relay had published every event %s after the last write; then `VACUUM ANALYZE state`. "+
		"`service` calls the product service on its own port, as its sidecar does; `gateway` calls `/api/v1/…` anonymously through the gateway, both sidecars (mTLS) and the service. "+
		"The listing is `categoryId=<one of 5>&sort=price` (%d products in it), 20 a page. Each row: a closed loop of that many clients for the run's length, after 1 s of warm-up.\n\n",
		products, seed.variants, len(seed.categories), seeded.Round(time.Second), seed.drained.Round(time.Second), products/len(seed.categories))
	fmt.Fprintf(&b, "| request | via | clients | req/s | p50 (ms) | p99 (ms) | product CPU µs/req | product daprd CPU µs/req |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintln(&b, r.line())
	}
	fmt.Fprintf(&b, "\n## Query plans\n\nAs the service builds them (`store.ReadModel.ListingPlans`, `SearchPlans`), `EXPLAIN (ANALYZE, BUFFERS)` after the runs.\n")
	for _, p := range plans {
		fmt.Fprintf(&b, "\n### %s\n\n```\n%s\n```\n", p[0], p[1])
	}
	return writeFile(file, b.String())
}
