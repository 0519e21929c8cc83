package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errSkipped: the operation found nothing to act on (no open reservation
// yet, its user busy with another worker's call); it is not counted.
var errSkipped = errors.New("nothing to do")

// initialStock is what each of the run's products starts with; the
// workload reserves, releases and deducts, so on hand never changes.
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
	began    time.Time // when the workload began, to place what it saw beside the faults

	mu           sync.Mutex
	users        []*user
	products     []string
	variants     []variant
	reservations []*reservation
	orders       []string // every order a reservation was asked for, acknowledged or not
	outcomes     map[string]int
	unclean      []string
	calls        []call // every call's time and whether it failed, for the fault windows
}

// user is one shopper's account and what the platform acknowledged of it.
// Its lock makes one call at a time act on it, so "the last acknowledged
// value" is well defined.
type user struct {
	sync.Mutex
	email, password string
	id              string // the account id (the token's subject)
	token, refresh  string // "" after a logout or a refused token: log in first
	// loggedOut are access tokens of sessions whose logout was acknowledged:
	// every gateway replica must refuse them.
	loggedOut []string
	// profile: created once a create was acknowledged (or refused as
	// existing); names is the set it may hold now: the last acknowledged
	// name and any sent since whose answer was lost.
	profile struct {
		created bool
		names   []string
	}
	addresses []string // acknowledged address ids
}

type variant struct{ product, sku string }

type item struct {
	sku string
	qty int64
}

type reservation struct {
	id    string
	items []item
	owner *user
	// status as last acknowledged: RESERVED, RELEASED or DEDUCTED.
	status string
	// A release or deduct was sent; unanswered, it may have been done.
	releaseAsked, deductAsked bool
}

type call struct {
	at     time.Time
	failed bool // the platform's failure (no answer, or 5xx); a 4xx refusal is an answer
}

func setUp(ctx context.Context, c *client, seed uint64) (*workload, error) {
	w := &workload{c: c, seed: seed, outcomes: map[string]int{}}
	a := c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": adminEmail, "password": adminPassword})
	var pair struct{ AccessToken string }
	if !a.ok() || a.decode(&pair) != nil {
		return nil, fmt.Errorf("admin login: %d %s %v", a.status, a.body, a.err)
	}
	w.admin = pair.AccessToken
	// Until the gateway has read auth's keys and revocations it answers a
	// token 503.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		a = c.call(ctx, http.MethodPost, "/api/v1/categories", w.admin, map[string]string{"name": fmt.Sprintf("Chaos %d", seed)})
		if a.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
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
		{"login", 1, w.asUser(w.login)},
		{"refresh", 1, w.asUser(w.refreshTokens)},
		{"logout", 1, w.asUser(w.logout)},
		{"write profile", 2, w.asUser(w.writeProfile)},
		{"add address", 1, w.asUser(w.addAddress)},
		{"create product", 1, w.createProduct},
		{"add variant", 1, w.addVariant},
		{"read catalog", 3, w.readCatalog},
		{"reserve", 4, w.asUser(w.reserve(1))},
		{"reserve basket", 2, w.asUser(w.reserve(3))},
		{"release", 2, w.release},
		{"deduct", 1, w.deduct},
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
				if errors.Is(a.err, errSkipped) {
					break
				}
				w.record(ctx, op.name, a)
				if a.err != nil { // refused at once while the gateway is down: no busy loop
					time.Sleep(50 * time.Millisecond)
				}
				break
			}
		}
	}
}

// record counts one call's answer. A call the run's own end cut off says
// nothing about the platform and is not counted.
func (w *workload) record(ctx context.Context, op string, a answer) {
	if ctx.Err() != nil && !a.ok() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	outcome := fmt.Sprint(a.status)
	if a.err != nil {
		outcome = "no answer"
	}
	w.outcomes[op+" "+outcome]++
	w.calls = append(w.calls, call{at: time.Now(), failed: lost(a)})
	if why := a.unclean(); why != "" && len(w.unclean) < 50 {
		w.unclean = append(w.unclean, fmt.Sprintf("%s at %.1f s: %s", op, time.Since(w.began).Seconds(), why))
	}
}

// lost reports whether a may have been done though no 2xx said so: no
// answer, or a 5xx (the platform may have done it and lost the answer).
func lost(a answer) bool { return a.err != nil || a.status >= 500 }

func (w *workload) register(ctx context.Context, _ *rand.Rand) answer {
	n := w.seq.Add(1)
	u := &user{email: fmt.Sprintf("u%d-%d@chaos.example.com", w.seed, n), password: fmt.Sprintf("chaos passphrase %d", n)}
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": u.email, "password": u.password})
	if a.ok() && u.take(a) == nil {
		w.mu.Lock()
		w.users = append(w.users, u)
		w.mu.Unlock()
	}
	return a
}

// take keeps the token pair a 2xx carried, and the account id in it.
func (u *user) take(a answer) error {
	var pair struct{ AccessToken, RefreshToken string }
	if err := a.decode(&pair); err != nil {
		return err
	}
	id, err := subject(pair.AccessToken)
	if err != nil {
		return err
	}
	u.id, u.token, u.refresh = id, pair.AccessToken, pair.RefreshToken
	return nil
}

// subject reads a token's sub claim without verifying it (the gateway does).
func subject(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims struct{ Sub string }
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Sub == "" {
		return "", errors.Join(errors.New("no sub claim"), err)
	}
	return claims.Sub, nil
}

// asUser runs op as a user rng picks who is not busy with another worker,
// logged in first when the user has no live token.
func (w *workload) asUser(op func(context.Context, *rand.Rand, *user) answer) func(context.Context, *rand.Rand) answer {
	return func(ctx context.Context, rng *rand.Rand) answer {
		w.mu.Lock()
		if len(w.users) == 0 {
			w.mu.Unlock()
			return w.register(ctx, rng)
		}
		u := w.users[rng.IntN(len(w.users))]
		w.mu.Unlock()
		if !u.TryLock() {
			return answer{err: errSkipped}
		}
		defer u.Unlock()
		if u.token == "" {
			w.record(ctx, "login", w.login(ctx, rng, u))
			return answer{err: errSkipped}
		}
		a := op(ctx, rng, u)
		if a.status == http.StatusUnauthorized {
			u.token = "" // refused (its session ended): log in next time
		}
		return a
	}
}

func (w *workload) login(ctx context.Context, _ *rand.Rand, u *user) answer {
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.email, "password": u.password})
	if a.ok() {
		_ = u.take(a)
	}
	return a
}

func (w *workload) refreshTokens(ctx context.Context, _ *rand.Rand, u *user) answer {
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": u.refresh})
	switch {
	case a.ok():
		_ = u.take(a)
	case lost(a):
		// The refresh token may be spent: presenting it again would end the
		// session as a reuse. Start a new one instead.
		u.token = ""
	}
	return a
}

func (w *workload) logout(ctx context.Context, _ *rand.Rand, u *user) answer {
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/logout", "", map[string]string{"refreshToken": u.refresh})
	if a.ok() {
		u.loggedOut = append(u.loggedOut, u.token)
	}
	u.token = ""
	return a
}

func (w *workload) writeProfile(ctx context.Context, rng *rand.Rand, u *user) answer {
	name := fmt.Sprintf("Chaos shopper %d", w.seq.Add(1))
	body := map[string]string{"name": name, "email": u.email, "phone": fmt.Sprintf("+1 555 %07d", rng.IntN(10_000_000))}
	var a answer
	if !u.profile.created {
		a = w.c.call(ctx, http.MethodPost, "/api/v1/users", u.token, body)
		if a.status == http.StatusConflict { // an earlier create whose answer was lost
			u.profile.created = true
		}
	} else {
		a = w.c.call(ctx, http.MethodPut, "/api/v1/users/"+u.id, u.token, body)
	}
	switch {
	case a.ok():
		u.profile.created, u.profile.names = true, []string{name}
	case lost(a):
		u.profile.names = append(u.profile.names, name)
	}
	return a
}

func (w *workload) addAddress(ctx context.Context, _ *rand.Rand, u *user) answer {
	if !u.profile.created || len(u.addresses) >= 10 {
		return answer{err: errSkipped}
	}
	a := w.c.call(ctx, http.MethodPost, "/api/v1/users/"+u.id+"/addresses", u.token, map[string]string{
		"street": fmt.Sprintf("%d Chaos Street", w.seq.Add(1)), "city": "Faultville", "state": "CA", "pincode": "94000", "country": "US"})
	var address struct{ ID string }
	if a.ok() && a.decode(&address) == nil {
		u.addresses = append(u.addresses, address.ID)
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

func (w *workload) addVariant(ctx context.Context, rng *rand.Rand) answer {
	w.mu.Lock()
	if len(w.products) == 0 {
		w.mu.Unlock()
		return answer{err: errSkipped}
	}
	product := w.products[rng.IntN(len(w.products))]
	w.mu.Unlock()
	sku := fmt.Sprintf("CHAOS-V-%d-%d", w.seed, w.seq.Add(1))
	a := w.c.call(ctx, http.MethodPost, "/api/v1/products/"+product+"/variants", w.admin, map[string]any{"sku": sku, "color": "red", "size": "M"})
	if a.ok() {
		w.mu.Lock()
		w.variants = append(w.variants, variant{product: product, sku: sku})
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

// reserve reserves up to n products at once (1: the single-item form; more:
// a basket, all or nothing).
func (w *workload) reserve(n int) func(context.Context, *rand.Rand, *user) answer {
	return func(ctx context.Context, rng *rand.Rand, u *user) answer {
		order := fmt.Sprintf("order-%d-%d", w.seed, w.seq.Add(1))
		r := &reservation{owner: u, status: "RESERVED"}
		for _, i := range rng.Perm(len(w.skus))[:1+rng.IntN(n)] {
			r.items = append(r.items, item{sku: w.skus[i], qty: int64(1 + rng.IntN(3))})
		}
		var body map[string]any
		if n == 1 {
			body = map[string]any{"productId": r.items[0].sku, "orderId": order, "quantity": r.items[0].qty}
		} else {
			items := make([]map[string]any, len(r.items))
			for i, it := range r.items {
				items[i] = map[string]any{"productId": it.sku, "quantity": it.qty}
			}
			body = map[string]any{"orderId": order, "items": items}
		}
		w.mu.Lock()
		w.orders = append(w.orders, order)
		w.mu.Unlock()
		a := w.c.call(ctx, http.MethodPost, "/api/v1/inventory/reserve", u.token, body)
		var got struct{ ReservationID string }
		if a.ok() && a.decode(&got) == nil {
			r.id = got.ReservationID
			w.mu.Lock()
			w.reservations = append(w.reservations, r)
			w.mu.Unlock()
		}
		return a
	}
}

// openReservation picks an acknowledged reservation still RESERVED with
// nothing asked of it, and marks what is asked now.
func (w *workload) openReservation(rng *rand.Rand, ask func(*reservation)) *reservation {
	w.mu.Lock()
	defer w.mu.Unlock()
	open := slices.DeleteFunc(slices.Clone(w.reservations), func(r *reservation) bool {
		return r.status != "RESERVED" || r.releaseAsked || r.deductAsked
	})
	if len(open) == 0 {
		return nil
	}
	r := open[rng.IntN(len(open))]
	ask(r)
	return r
}

func (w *workload) release(ctx context.Context, rng *rand.Rand) answer {
	r := w.openReservation(rng, func(r *reservation) { r.releaseAsked = true })
	if r == nil {
		return answer{err: errSkipped}
	}
	// Its owner's token, as it was: a token refused now is a clean 401.
	r.owner.Lock()
	token := r.owner.token
	r.owner.Unlock()
	a := w.c.call(ctx, http.MethodPost, "/api/v1/inventory/release", token, map[string]string{"reservationId": r.id})
	w.settled(r, a, "RELEASED")
	return a
}

func (w *workload) deduct(ctx context.Context, rng *rand.Rand) answer {
	r := w.openReservation(rng, func(r *reservation) { r.deductAsked = true })
	if r == nil {
		return answer{err: errSkipped}
	}
	a := w.c.call(ctx, http.MethodPost, "/api/v1/inventory/deduct", w.admin, map[string]string{"reservationId": r.id})
	w.settled(r, a, "DEDUCTED")
	return a
}

// settled records a release or deduct: acknowledged, the reservation is
// in that state; refused (4xx), nothing was done; lost, either may hold.
func (w *workload) settled(r *reservation, a answer, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case a.ok():
		r.status = status
	case !lost(a):
		r.releaseAsked, r.deductAsked = false, false
	}
}
