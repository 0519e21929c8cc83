package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/stack"
	"github.com/qeetmart/qeetmart/services/user/domain"
	"github.com/qeetmart/qeetmart/services/user/store"
)

// The users benchmark: the admin listing (GET /users) over many profiles,
// through the gateway, both sidecars and the user service's SQL read model,
// one request at a time (latency alone), sorted each way, shallow and deep,
// with and without a prefix search. The profiles are written the way the
// service writes them: the user store's own CreateProfile, through the
// user's sidecar.

var (
	firstNames = strings.Fields("Aarav Aditi Alice Amir Ana Ben Carla Chen Dara Diego Elena Emma Farah Felix Gita Hana Ian Ines Jon Julia Kai Kavya Leo Lina Luca Maya Mei Mohan Nadia Noah Olga Omar Pia Priya Quinn Rafael Rosa Sam Sara Tariq Uma Vera Vikram Wen Xavier Yara Yusuf Zoe Zara Arjun")
	lastNames  = strings.Fields("Sharma Smith Garcia Chen Okafor Novak Rossi Kim Patel Silva Müller Haddad Ivanova Tanaka Cohen Nguyen Kowalski Singh Dubois Jensen")
)

func seedProfile(i int, now time.Time) (domain.Profile, error) {
	id, err := ids.New()
	if err != nil {
		return domain.Profile{}, err
	}
	first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
	created := now.Add(time.Duration(i) * time.Millisecond).Truncate(time.Microsecond)
	return domain.Profile{ID: id, Name: fmt.Sprintf("%s %s", first, last),
		Email: strings.ToLower(fmt.Sprintf("%s.%s.%d@example.com", first, last, i)),
		Phone: "+91 98765 43210", CreatedAt: created, UpdatedAt: created, Addresses: []domain.Address{}}, nil
}

func runUsers(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench users", flag.ContinueOnError)
	out := fs.String("out", "docs/bench/users.md", "report file")
	profiles := fs.Int("profiles", 100_000, "profiles to list")
	duration := fs.Duration("duration", 5*time.Second, "length of each run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	const adminPassword = "an admin passphrase"
	s, err := startStack(ctx, []string{"gateway", "auth", "user"}, []string{"gateway", "user"}, false, stdout, func(o *stack.Options) {
		o.AddEnv("gateway", "RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000")
		o.AddEnv("auth", "AUTH_ADMIN_EMAIL=root@bench.example.com", "AUTH_ADMIN_PASSWORD="+adminPassword)
	})
	if err != nil {
		return err
	}
	defer s.Close()

	seedStart := time.Now()
	if err := seedProfiles(ctx, s, *profiles); err != nil {
		return err
	}
	seeded := time.Since(seedStart)
	fmt.Fprintf(stdout, "seeded %d profiles through the user sidecar in %s\n", *profiles, seeded.Round(time.Second))

	api := authAPI{base: fmt.Sprintf("http://127.0.0.1:%d/api/v1", s.Ports("gateway").App), client: &http.Client{Timeout: 30 * time.Second}}
	pair, err := loginWhenReady(ctx, api, "root@bench.example.com", adminPassword)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, s.DSN("user"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// What autovacuum does to a table after bulk inserts: statistics, and
	// the visibility map that lets the count be an index-only scan.
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE state"); err != nil {
		return err
	}

	deep := *profiles / 20 / 2 // the middle page at size 20
	queries := []string{
		"sortBy=createdAt&sortDir=desc&size=20",
		"sortBy=name&sortDir=asc&size=20",
		"sortBy=email&sortDir=desc&size=20",
		fmt.Sprintf("sortBy=createdAt&sortDir=desc&size=20&page=%d", deep),
		fmt.Sprintf("sortBy=name&sortDir=asc&size=20&page=%d", deep),
		"q=maya&sortBy=createdAt&sortDir=desc&size=20",
		"q=ma&sortBy=name&sortDir=asc&size=20",
		"q=zoe.jensen&sortBy=email&sortDir=asc&size=20",
	}
	var results []listResult
	for _, q := range queries {
		var total atomic.Int64
		step := func(ctx context.Context, _, _ int) error {
			n, err := listPage(ctx, api, pair.AccessToken, q)
			if err == nil {
				total.Store(int64(n))
			}
			return err
		}
		before := s.procs.snapshot()
		r := closedLoop(ctx, 1, *duration, step)
		after := s.procs.snapshot()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.ok == 0 {
			return errors.New(q + ": no request succeeded")
		}
		r.scenario, r.cpu = q, cpuSince(before, after)
		lr := listResult{loadResult: r, matches: int(total.Load())}
		fmt.Fprintln(stdout, lr.line())
		results = append(results, lr)
	}
	return writeUsersReport(*out, *profiles, seeded, results, *duration)
}

// seedProfiles writes n profiles with the user store's CreateProfile
// through the user's sidecar, 16 at a time.
func seedProfiles(ctx context.Context, s *benchStack, n int) error {
	dapr := sidecar.New(s.Ports("user").HTTP, s.DaprAPIToken("user"))
	st := store.New(statestore.New(dapr, "user-store"), nil)
	var next atomic.Int64
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	now := time.Now().UTC()
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				p, err := seedProfile(i, now)
				if err == nil {
					err = st.CreateProfile(ctx, p)
				}
				if err != nil {
					errs <- fmt.Errorf("seed profile %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return errors.Join(<-errs, ctx.Err())
}

// loginWhenReady logs in once the gateway can reach auth.
func loginWhenReady(ctx context.Context, api authAPI, email, password string) (tokenPair, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := api.post(ctx, "/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK)
		if err == nil || time.Now().After(deadline) {
			return p, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listPage GETs one page of the listing and returns its totalElements.
func listPage(ctx context.Context, api authAPI, token, query string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.base+"/users?"+query, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := api.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	var page struct {
		TotalElements int `json:"totalElements"`
	}
	return page.TotalElements, json.Unmarshal(raw, &page)
}

type listResult struct {
	loadResult
	matches int
}

func (r listResult) line() string {
	return fmt.Sprintf("| `%s` | %d | %.0f | %s | %s | %s | %s | %s |", r.scenario, r.matches, r.rate(),
		ms(r.quantile(0.5)), ms(r.quantile(0.99)), ms(r.latencies[len(r.latencies)-1]), perRequest(r.loadResult, "user"), perRequest(r.loadResult, "gateway"))
}

func writeUsersReport(file string, profiles int, seeded time.Duration, results []listResult, d time.Duration) error {
	var b strings.Builder
	reportHeader(&b, "User listing benchmark", "make bench-users", "go run ./tools/bench users", d)
	fmt.Fprintf(&b, "%d profiles, written through the user sidecar (the store's CreateProfile, 16 at a time) in %s. "+
		"Then `VACUUM ANALYZE state` (what autovacuum does after bulk inserts). "+
		"`GET /api/v1/users?…` as an admin, one request at a time, through the gateway, both sidecars (mTLS) and the user service's SQL read model (the exact count and the page in one round trip; the count of all profiles is an index-only scan of 100,000 entries, most of a page's cost).\n\n",
		profiles, seeded.Round(time.Second))
	fmt.Fprintf(&b, "| query | matches | req/s | p50 (ms) | p99 (ms) | max (ms) | user CPU µs/req | gateway CPU µs/req |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintln(&b, r.line())
	}
	return writeFile(file, b.String())
}
