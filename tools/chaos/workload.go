package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// errNothingToRelease: no acknowledged reservation is open yet.
var errNothingToRelease = errors.New("no open reservation to release")

// initialStock is what each of the run's products starts with; the
// workload reserves and releases, so on hand never changes.
const initialStock = 1000

// workload is the mix of operations and the record of every one the
// platform acknowledged (2xx), to check afterwards.
type workload struct {
	c        *client
	seed     uint64
	admin    string // an admin's access token
	category string
	skus     []string
	seq      atomic.Int64

	mu           sync.Mutex
	users        []*user
	products     []string
	reservations []*reservation
	orders       []string // every order a reservation was asked for, acknowledged or not
	outcomes     map[string]int
	unclean      []string
	calls        []call // every call's time and whether it failed, for the fault windows
}

type user struct{ email, password, token string }

type reservation struct {
	id, sku string
	qty     int64
	owner   *user
	status  string // as last acknowledged: RESERVED or RELEASED
	// releaseAsked: a release was sent; unanswered, it may have been done.
	releaseAsked bool
}

type call struct {
	at     time.Time
	failed bool
}

func setUp(ctx context.Context, c *client, seed uint64) (*workload, error) {
	w := &workload{c: c, seed: seed, outcomes: map[string]int{}}
	a := c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": adminEmail, "password": adminPassword})
	var pair struct{ AccessToken string }
	if !a.ok() || a.decode(&pair) != nil {
		return nil, fmt.Errorf("admin login: %d %s %v", a.status, a.body, a.err)
	}
	w.admin = pair.AccessToken
	// The gateway serves before it holds auth's signing keys: until then
	// it refuses every token with 401.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		a = c.call(ctx, http.MethodPost, "/api/v1/categories", w.admin, map[string]string{"name": fmt.Sprintf("Chaos %d", seed)})
		if a.status != http.StatusUnauthorized || time.Now().After(deadline) {
			break
		}
	}
	var category struct{ ID string }
	if !a.ok() || a.decode(&category) != nil {
		return nil, fmt.Errorf("category: %d %s %v", a.status, a.body, a.err)
	}
	w.category = category.ID
	for i := range 5 {
		sku := fmt.Sprintf("CHAOS-%d-%d", seed, i)
		a := c.call(ctx, http.MethodPost, "/api/v1/inventory/init", w.admin, map[string]any{"productId": sku, "quantity": initialStock})
		if !a.ok() {
			return nil, fmt.Errorf("stock %s: %d %s %v", sku, a.status, a.body, a.err)
		}
		w.skus = append(w.skus, sku)
	}
	return w, nil
}

// work runs operations, picked by rng, until ctx ends.
func (w *workload) work(ctx context.Context, rng *rand.Rand) {
	ops := []struct {
		name   string
		weight int
		run    func(context.Context, *rand.Rand) answer
	}{
		{"register", 2, w.register},
		{"login", 2, w.login},
		{"create product", 2, w.createProduct},
		{"read catalog", 4, w.readCatalog},
		{"reserve", 5, w.reserve},
		{"release", 3, w.release},
	}
	total := 0
	for _, op := range ops {
		total += op.weight
	}
	for ctx.Err() == nil {
		pick := rng.IntN(total)
		for _, op := range ops {
			if pick -= op.weight; pick < 0 {
				a := op.run(ctx, rng)
				if errors.Is(a.err, errNothingToRelease) {
					break
				}
				if ctx.Err() == nil || a.ok() {
					w.record(op.name, a)
				}
				if a.err != nil { // refused at once while the gateway is down: no busy loop
					time.Sleep(50 * time.Millisecond)
				}
				break
			}
		}
	}
}

func (w *workload) record(op string, a answer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	outcome := fmt.Sprint(a.status)
	if a.err != nil {
		outcome = "no answer"
	}
	w.outcomes[op+" "+outcome]++
	w.calls = append(w.calls, call{at: time.Now(), failed: !a.ok()})
	if why := a.unclean(); why != "" && len(w.unclean) < 50 {
		w.unclean = append(w.unclean, op+": "+why)
	}
}

func (w *workload) register(ctx context.Context, _ *rand.Rand) answer {
	n := w.seq.Add(1)
	u := &user{email: fmt.Sprintf("u%d-%d@chaos.example.com", w.seed, n), password: fmt.Sprintf("chaos passphrase %d", n)}
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": u.email, "password": u.password})
	var pair struct{ AccessToken string }
	if a.ok() && a.decode(&pair) == nil {
		u.token = pair.AccessToken
		w.mu.Lock()
		w.users = append(w.users, u)
		w.mu.Unlock()
	}
	return a
}

func (w *workload) someUser(rng *rand.Rand) *user {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.users) == 0 {
		return nil
	}
	return w.users[rng.IntN(len(w.users))]
}

func (w *workload) login(ctx context.Context, rng *rand.Rand) answer {
	u := w.someUser(rng)
	if u == nil {
		return w.register(ctx, rng)
	}
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.email, "password": u.password})
	var pair struct{ AccessToken string }
	if a.ok() && a.decode(&pair) == nil {
		w.mu.Lock()
		u.token = pair.AccessToken
		w.mu.Unlock()
	}
	return a
}

func (w *workload) createProduct(ctx context.Context, _ *rand.Rand) answer {
	n := w.seq.Add(1)
	a := w.c.call(ctx, http.MethodPost, "/api/v1/products", w.admin, map[string]any{
		"name": fmt.Sprintf("Chaos product %d-%d", w.seed, n), "brand": "Chaos", "categoryId": w.category,
		"price": 9.99, "currency": "USD", "status": "ACTIVE"})
	var p struct{ ID string }
	if a.ok() && a.decode(&p) == nil {
		w.mu.Lock()
		w.products = append(w.products, p.ID)
		w.mu.Unlock()
	}
	return a
}

func (w *workload) readCatalog(ctx context.Context, rng *rand.Rand) answer {
	if rng.IntN(2) == 0 {
		return w.c.call(ctx, http.MethodGet, "/api/v1/products/search?query=chaos&limit=5", "", nil)
	}
	return w.c.call(ctx, http.MethodGet, "/api/v1/products?limit=5", "", nil)
}

func (w *workload) reserve(ctx context.Context, rng *rand.Rand) answer {
	u := w.someUser(rng)
	if u == nil {
		return w.register(ctx, rng)
	}
	order := fmt.Sprintf("order-%d-%d", w.seed, w.seq.Add(1))
	r := &reservation{sku: w.skus[rng.IntN(len(w.skus))], qty: int64(1 + rng.IntN(3)), owner: u, status: "RESERVED"}
	w.mu.Lock()
	w.orders = append(w.orders, order)
	token := u.token
	w.mu.Unlock()
	a := w.c.call(ctx, http.MethodPost, "/api/v1/inventory/reserve", token, map[string]any{"productId": r.sku, "orderId": order, "quantity": r.qty})
	var got struct{ ReservationID string }
	if a.ok() && a.decode(&got) == nil {
		r.id = got.ReservationID
		w.mu.Lock()
		w.reservations = append(w.reservations, r)
		w.mu.Unlock()
	}
	return a
}

func (w *workload) release(ctx context.Context, rng *rand.Rand) answer {
	w.mu.Lock()
	var open []*reservation
	for _, r := range w.reservations {
		if r.status == "RESERVED" {
			open = append(open, r)
		}
	}
	if len(open) == 0 {
		w.mu.Unlock()
		return answer{err: errNothingToRelease}
	}
	r := open[rng.IntN(len(open))]
	r.releaseAsked = true
	token := r.owner.token
	w.mu.Unlock()
	a := w.c.call(ctx, http.MethodPost, "/api/v1/inventory/release", token, map[string]string{"reservationId": r.id})
	if a.ok() {
		w.mu.Lock()
		r.status = "RELEASED"
		w.mu.Unlock()
	}
	return a
}
