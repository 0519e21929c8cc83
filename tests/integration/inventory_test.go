package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

// stock is an inventory record as admins see it.
type stock struct {
	ProductID         string
	AvailableQuantity int64
	ReservedQuantity  int64
	CommittedQuantity int64
	LowStockThreshold int64
}

type reservationItem struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

type reservation struct {
	ReservationID, OrderID, ProductID, Status string
	Quantity                                  int64
	Items                                     []reservationItem
	ExpiresAt, CreatedAt                      time.Time
}

// data is the inventory envelope's data.
func data[T any](t *testing.T, a answer) T {
	t.Helper()
	var env struct {
		Success bool
		Message string
		Data    T
	}
	require.NoError(t, json.Unmarshal(a.body, &env), "%s", a.body)
	assert.True(t, env.Success, "%s", a.body)
	return env.Data
}

func inventoryEnv(t *testing.T, opts ...testenv.Option) (env *testenv.Env, admin, shopper person) {
	t.Helper()
	env = adminEnv(t, "inventory", opts...)
	admin = logIn(t, env, "root@example.com", userAdminPassword).against("inventory")
	shopper = signUp(t, env, "shopper@example.com").against("inventory")
	return env, admin, shopper
}

func TestInventoryStock(t *testing.T) {
	env, admin, shopper := inventoryEnv(t)

	a := admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "SKU-RED-M", "quantity": 10, "lowStockThreshold": 3})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	s := data[stock](t, a)
	assert.Equal(t, stock{ProductID: "SKU-RED-M", AvailableQuantity: 10, LowStockThreshold: 3}, s)
	a = admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "SKU-RED-M", "quantity": 99})
	assert.Equal(t, int64(10), data[stock](t, a).AvailableQuantity, "init is idempotent: an existing record is returned unchanged")

	t.Run("anyone reads availability; only admins see the rest", func(t *testing.T) {
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1/inventory/SKU-RED-M", contract: "inventory"})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.JSONEq(t, `{"success":true,"message":"inventory fetched","data":{"productId":"SKU-RED-M","availableQuantity":10}}`, string(a.body))
		a = shopper.call(http.MethodGet, "/inventory/SKU-RED-M", nil)
		assert.NotContains(t, string(a.body), "reservedQuantity")
		a = admin.call(http.MethodGet, "/inventory/SKU-RED-M", nil)
		assert.Contains(t, string(a.body), `"reservedQuantity":0`)

		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/inventory?ids=SKU-RED-M,none,SKU-RED-M", contract: "inventory"})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.JSONEq(t, `{"success":true,"message":"inventory fetched","data":[{"productId":"SKU-RED-M","availableQuantity":10}]}`, string(a.body))
		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/inventory/none", contract: "inventory"})
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.Equal(t, "PRODUCT_NOT_FOUND", a.errorCode(t))
	})

	t.Run("shoppers read availability through Redis, a second old at most; a flush changes nothing", func(t *testing.T) {
		require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "CACHED", "quantity": 10}).status)
		available := func() int64 {
			a := do(t, env, call{method: http.MethodGet, path: "/api/v1/inventory/CACHED", contract: "inventory"})
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			return data[stock](t, a).AvailableQuantity
		}
		assert.Equal(t, int64(10), available())
		host, port, _ := strings.Cut(env.RedisHost(), ":")
		redis := func(args ...string) string {
			out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).Output()
			require.NoError(t, err)
			return strings.TrimSpace(string(out))
		}
		assert.NotEmpty(t, redis("--scan", "--pattern", "*stock:CACHED"), "the shopper's read filled the cache")

		require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "CACHED", "quantity": 5}).status)
		assert.Equal(t, int64(15), data[stock](t, admin.call(http.MethodGet, "/inventory/CACHED", nil)).AvailableQuantity, "admins read the record of truth")
		changed := time.Now()
		waitFor(t, "shoppers see the new stock", func() bool { return available() == 15 })
		t.Logf("shoppers saw the change %s after it", time.Since(changed).Round(time.Millisecond))

		redis("FLUSHALL")
		assert.Equal(t, int64(15), available(), "a flushed cache loses and invents nothing")
		assert.Equal(t, int64(15), data[stock](t, admin.call(http.MethodGet, "/inventory/CACHED", nil)).AvailableQuantity)
	})

	t.Run("add-stock and adjust are ADMIN only", func(t *testing.T) {
		for _, path := range []string{"/inventory/init", "/inventory/add-stock", "/inventory/adjust"} {
			a := shopper.call(http.MethodPost, path, map[string]any{"productId": "SKU-RED-M", "quantity": 5, "onHand": 1, "reason": "x"})
			assert.Equal(t, http.StatusForbidden, a.status, "%s: %s", path, a.body)
		}
		a := admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "SKU-RED-M", "quantity": 5})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, int64(15), data[stock](t, a).AvailableQuantity)
		a = admin.call(http.MethodPost, "/inventory/adjust", map[string]any{"productId": "SKU-RED-M", "onHand": 12, "reason": "stocktake"})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, int64(12), data[stock](t, a).AvailableQuantity)
		a = admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "none", "quantity": 5})
		assert.Equal(t, http.StatusNotFound, a.status)
		a = admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "SKU-RED-M", "quantity": 2147483647})
		assert.Equal(t, http.StatusConflict, a.status, "on hand beyond 32 bits: %s", a.body)
		assert.Equal(t, "STOCK_LIMIT_EXCEEDED", a.errorCode(t))
	})

	t.Run("bad input is a 4xx VALIDATION_ERROR, never a 500", func(t *testing.T) {
		long := strings.Repeat("x", 129)
		for _, tt := range []struct {
			path string
			body any
			want int
		}{
			{"/inventory/init", `{"productId":`, 400},
			{"/inventory/init", `{"productId":"a","quantity":"5"}`, 400},
			{"/inventory/init", map[string]any{"quantity": 5}, 400},
			{"/inventory/init", map[string]any{"productId": long, "quantity": 5}, 400},
			{"/inventory/init", map[string]any{"productId": "a", "quantity": -1}, 400},
			{"/inventory/init", map[string]any{"productId": "a", "quantity": 2147483648}, 400},
			{"/inventory/init", `{"productId":"a","quantity":99999999999999999999}`, 400},
			{"/inventory/add-stock", map[string]any{"productId": "SKU-RED-M", "quantity": 0}, 400},
			{"/inventory/adjust", map[string]any{"productId": "SKU-RED-M", "reason": "x"}, 400},
			{"/inventory/reserve", map[string]any{"productId": "SKU-RED-M", "orderId": "o", "quantity": 0}, 400},
			{"/inventory/reserve", map[string]any{"orderId": "o", "items": []any{}}, 400},
			{"/inventory/release", map[string]any{"reservationId": "not-a-uuid"}, 404},
			{"/inventory/release", map[string]any{}, 400},
			{"/inventory/deduct", map[string]any{"reservationId": "00000000-0000-7000-8000-000000000000"}, 404},
		} {
			a := admin.call(http.MethodPost, tt.path, tt.body)
			assert.Equal(t, tt.want, a.status, "%s %v: %s", tt.path, tt.body, a.body)
			if tt.want == 400 {
				assert.Equal(t, "VALIDATION_ERROR", a.errorCode(t), "%s", a.body)
			}
		}
		a := admin.call(http.MethodPost, "/inventory/init", `{"productId":"a","pad":"`+strings.Repeat("x", 1<<20)+`"}`)
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
		a = admin.call(http.MethodGet, "/inventory/"+long, nil)
		assert.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
		a = admin.call(http.MethodGet, "/inventory/reservations/not-a-uuid", nil)
		assert.Equal(t, http.StatusNotFound, a.status, "%s", a.body)
		a = do(t, env, call{method: http.MethodGet, path: "/api/v1/inventory/reservations/00000000-0000-7000-8000-000000000000"})
		assert.Equal(t, http.StatusUnauthorized, a.status, "reservations are not public")
	})
}

func TestInventoryReservations(t *testing.T) {
	env, admin, shopper := inventoryEnv(t)
	other := signUp(t, env, "other@example.com").against("inventory")
	for _, id := range []string{"A", "B"} {
		a := admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": id, "quantity": 10})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	}
	get := func(id string) stock {
		a := admin.call(http.MethodGet, "/inventory/"+id, nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		return data[stock](t, a)
	}

	a := shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "A", "orderId": "order-1", "quantity": 4})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	single := data[reservation](t, a)
	assert.Equal(t, "RESERVED", single.Status)
	assert.Equal(t, "A", single.ProductID)
	assert.Equal(t, int64(4), single.Quantity)
	assert.WithinDuration(t, time.Now(), single.CreatedAt, time.Minute, "a real createdAt (the original's was year 1)")
	assert.WithinDuration(t, single.CreatedAt.Add(10*time.Minute), single.ExpiresAt, time.Second)
	assert.Equal(t, stock{ProductID: "A", AvailableQuantity: 6, ReservedQuantity: 4}, get("A"))

	t.Run("a basket is reserved whole or not at all", func(t *testing.T) {
		a := shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"orderId": "order-2",
			"items": []reservationItem{{"A", 2}, {"B", 11}}})
		require.Equal(t, http.StatusConflict, a.status, "%s", a.body)
		assert.Equal(t, "INSUFFICIENT_STOCK", a.errorCode(t))
		assert.Contains(t, string(a.body), `"productIds":["B"]`, "names the short item")
		assert.Equal(t, int64(6), get("A").AvailableQuantity, "nothing of A was held")

		a = shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"orderId": "order-2",
			"items": []reservationItem{{"A", 2}, {"B", 3}, {"A", 1}}})
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		basket := data[reservation](t, a)
		assert.Equal(t, []reservationItem{{"A", 3}, {"B", 3}}, basket.Items, "items of one product are merged")
		assert.Equal(t, int64(3), get("A").AvailableQuantity)
		assert.Equal(t, int64(7), get("B").AvailableQuantity)

		a = shopper.call(http.MethodGet, "/inventory/reservations?orderId=order-2", nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		list := data[[]reservation](t, a)
		require.Len(t, list, 1)
		assert.Equal(t, basket.ReservationID, list[0].ReservationID)
		a = other.call(http.MethodGet, "/inventory/reservations?orderId=order-2", nil)
		assert.Empty(t, data[[]reservation](t, a), "another user's reservations are not listed")
	})

	t.Run("only the owner or an admin releases; deduct is ADMIN", func(t *testing.T) {
		a := other.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": single.ReservationID})
		assert.Equal(t, http.StatusNotFound, a.status, "%s", a.body)
		a = other.call(http.MethodGet, "/inventory/reservations/"+single.ReservationID, nil)
		assert.Equal(t, http.StatusNotFound, a.status, "%s", a.body)
		a = shopper.call(http.MethodPost, "/inventory/deduct", map[string]any{"reservationId": single.ReservationID})
		assert.Equal(t, http.StatusForbidden, a.status, "%s", a.body)

		a = shopper.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": single.ReservationID})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, "RELEASED", data[reservation](t, a).Status)
		assert.Equal(t, stock{ProductID: "A", AvailableQuantity: 7, ReservedQuantity: 3}, get("A"))
		a = shopper.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": single.ReservationID})
		assert.Equal(t, http.StatusConflict, a.status)
		assert.Equal(t, "RESERVATION_ALREADY_RELEASED", a.errorCode(t))
		a = admin.call(http.MethodPost, "/inventory/deduct", map[string]any{"reservationId": single.ReservationID})
		assert.Equal(t, "RESERVATION_ALREADY_RELEASED", a.errorCode(t))

		list := data[[]reservation](t, shopper.call(http.MethodGet, "/inventory/reservations?orderId=order-2", nil))
		a = admin.call(http.MethodPost, "/inventory/deduct", map[string]any{"reservationId": list[0].ReservationID})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, "DEDUCTED", data[reservation](t, a).Status)
		assert.Equal(t, stock{ProductID: "A", AvailableQuantity: 7, CommittedQuantity: 3}, get("A"))
		assert.Equal(t, stock{ProductID: "B", AvailableQuantity: 7, CommittedQuantity: 3}, get("B"))
		a = shopper.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": list[0].ReservationID})
		assert.Equal(t, "RESERVATION_ALREADY_DEDUCTED", a.errorCode(t))
		a = admin.call(http.MethodPost, "/inventory/adjust", map[string]any{"productId": "A", "onHand": 2, "reason": "stocktake"})
		assert.Equal(t, http.StatusConflict, a.status, "committed units cannot be counted away: %s", a.body)
	})

	t.Run("an Idempotency-Key makes a repeat answer as the first did", func(t *testing.T) {
		require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "IDEM", "quantity": 100}).status)
		key := map[string]string{"Idempotency-Key": "order-7-attempt"}
		body := map[string]any{"productId": "IDEM", "orderId": "order-7", "quantity": 3}
		first := shopper.call(http.MethodPost, "/inventory/reserve", body, key)
		require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
		assert.Empty(t, first.header.Get("Idempotent-Replayed"))
		held := data[reservation](t, first)

		// Twenty repeats at once, as a client's and the gateway's retries
		// might be: one reservation, the same answer to all.
		var wg sync.WaitGroup
		answers := make([]answer, 20)
		errs := make([]error, 20)
		for i := range answers {
			wg.Go(func() { answers[i], errs[i] = shopper.send(http.MethodPost, "/inventory/reserve", body, key) })
		}
		wg.Wait()
		for i, a := range answers {
			require.NoError(t, errs[i])
			require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
			assert.Equal(t, "true", a.header.Get("Idempotent-Replayed"))
			assert.Equal(t, held, data[reservation](t, a), "the first answer, replayed")
		}
		assert.Equal(t, stock{ProductID: "IDEM", AvailableQuantity: 97, ReservedQuantity: 3}, get("IDEM"), "applied once")

		// Twenty first sends at once: they meet in one batch (or in
		// batches one after another) and still make one reservation.
		fresh := map[string]string{"Idempotency-Key": "order-8-attempt"}
		firsts := map[string]bool{}
		replayed := 0
		for i := range answers {
			wg.Go(func() {
				answers[i], errs[i] = shopper.send(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "IDEM", "orderId": "order-8", "quantity": 1}, fresh)
			})
		}
		wg.Wait()
		for i, a := range answers {
			require.NoError(t, errs[i])
			require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
			firsts[data[reservation](t, a).ReservationID] = true
			if a.header.Get("Idempotent-Replayed") == "true" {
				replayed++
			}
		}
		assert.Len(t, firsts, 1, "one reservation for one key")
		assert.Equal(t, 19, replayed, "every answer but the first is a replay")
		assert.Equal(t, int64(4), get("IDEM").ReservedQuantity)

		a := shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "IDEM", "orderId": "order-7", "quantity": 4}, key)
		assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.body)
		assert.Equal(t, "IDEMPOTENCY_KEY_REUSED", a.errorCode(t))
		a = shopper.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": held.ReservationID}, key)
		assert.Equal(t, http.StatusUnprocessableEntity, a.status, "one key, another operation: %s", a.body)

		a = other.call(http.MethodPost, "/inventory/reserve", body, key)
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		assert.Empty(t, a.header.Get("Idempotent-Replayed"), "another caller's key is its own")
		assert.NotEqual(t, held.ReservationID, data[reservation](t, a).ReservationID)

		releaseKey := map[string]string{"Idempotency-Key": "release-order-7"}
		release := map[string]any{"reservationId": held.ReservationID}
		a = shopper.call(http.MethodPost, "/inventory/release", release, releaseKey)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		a = shopper.call(http.MethodPost, "/inventory/release", release, releaseKey)
		require.Equal(t, http.StatusOK, a.status, "a repeated release is answered, not refused as already released: %s", a.body)
		assert.Equal(t, "true", a.header.Get("Idempotent-Replayed"))
		assert.Equal(t, "RELEASED", data[reservation](t, a).Status)

		a = shopper.call(http.MethodPost, "/inventory/reserve", body, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)})
		assert.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
		assert.Equal(t, "VALIDATION_ERROR", a.errorCode(t))
	})
}

func TestInventoryExpiry(t *testing.T) {
	_, admin, shopper := inventoryEnv(t, testenv.WithEnv("inventory", "RESERVATION_TTL=2s", "EXPIRATION_POLL_INTERVAL=200ms"))
	require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "A", "quantity": 5}).status)
	a := shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "A", "orderId": "o", "quantity": 5})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	r := data[reservation](t, a)

	start := time.Now()
	var s stock
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s = data[stock](t, admin.call(http.MethodGet, "/inventory/A", nil)); s.AvailableQuantity == 5 {
			break
		}
	}
	require.Equal(t, stock{ProductID: "A", AvailableQuantity: 5}, s, "the stock came back")
	t.Logf("stock back %s after the reservation was made (TTL 2 s, sweep every 200 ms; goal: within 2 s of expiry)", time.Since(start).Round(time.Millisecond))
	assert.Equal(t, "EXPIRED", data[reservation](t, shopper.call(http.MethodGet, "/inventory/reservations/"+r.ReservationID, nil)).Status)
	a = admin.call(http.MethodPost, "/inventory/deduct", map[string]any{"reservationId": r.ReservationID})
	assert.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, "RESERVATION_EXPIRED", a.errorCode(t))
}

// TestInventoryNeverOversells runs many clients at once through the
// gateway against one hot product and many others, mixing every change,
// then checks every invariant on every record and reservation.
func TestInventoryNeverOversells(t *testing.T) {
	// Allotments from 20 reservations a second: this load takes them.
	_, admin, shopper := inventoryEnv(t, testenv.WithEnv("inventory", "RESERVATION_TTL=3s", "EXPIRATION_POLL_INTERVAL=300ms", "ALLOTMENT_FROM_RATE=20"))
	const clients, products, initial = 1000, 100, 50
	ids := []string{"HOT"}
	for i := range products {
		ids = append(ids, fmt.Sprintf("P%03d", i))
	}
	for _, id := range ids {
		a := admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": id, "quantity": initial})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	}

	var mu sync.Mutex
	// added is stock received for sure; uncertain, what an add-stock that
	// timed out may or may not have added (it takes no Idempotency-Key).
	added, uncertain := map[string]int64{}, map[string]int64{}
	var acknowledged []string // reservation ids answered 201
	counts := map[int]int{}
	retried := 0
	errs := make(chan error, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-start
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			pick := func() string {
				if rng.IntN(2) == 0 {
					return "HOT"
				}
				return ids[1+rng.IntN(products)]
			}
			record := func(a answer, err error) (answer, bool) {
				if err != nil {
					errs <- err
					return a, false
				}
				mu.Lock()
				counts[a.status]++
				mu.Unlock()
				if a.status >= 500 {
					errs <- fmt.Errorf("client %d: %d %s", i, a.status, a.body)
				}
				return a, true
			}
			// A client that timed out, or was shed by the gateway (1,000
			// at once are more than it lets through to one service), sends
			// its request again under the same Idempotency-Key after the
			// Retry-After it was given, as a careful client does: on this
			// 2-core machine under -race, 1,000 at once can also outlast
			// the gateway's 5 s upstream timeout.
			op := 0
			keyed := func(p person, path string, body any) (answer, error) {
				op++
				key := map[string]string{"Idempotency-Key": fmt.Sprintf("client-%d-op-%d", i, op)}
				a, err := p.send(http.MethodPost, path, body, key)
				for try := 1; try < 10 && err == nil && a.status >= 500; try++ {
					mu.Lock()
					retried++
					mu.Unlock()
					time.Sleep(retryAfter(a))
					a, err = p.send(http.MethodPost, path, body, key)
				}
				return a, err
			}
			var body any
			if rng.IntN(3) == 0 {
				body = map[string]any{"orderId": fmt.Sprint("order-", i), "items": []reservationItem{{pick(), 1 + int64(rng.IntN(3))}, {pick(), 1}}}
			} else {
				body = map[string]any{"orderId": fmt.Sprint("order-", i), "productId": pick(), "quantity": 1 + rng.IntN(3)}
			}
			a, ok := record(keyed(shopper, "/inventory/reserve", body))
			if !ok || a.status != http.StatusCreated {
				return
			}
			var r struct{ Data reservation }
			if err := json.Unmarshal(a.body, &r); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			acknowledged = append(acknowledged, r.Data.ReservationID)
			mu.Unlock()
			switch rng.IntN(4) {
			case 0:
				record(keyed(shopper, "/inventory/release", map[string]any{"reservationId": r.Data.ReservationID}))
			case 1:
				record(keyed(admin, "/inventory/deduct", map[string]any{"reservationId": r.Data.ReservationID}))
			case 2:
				id := pick()
				a, err := admin.send(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": id, "quantity": 2}, nil)
				for try := 1; try < 10 && err == nil && shed(a); try++ { // nothing was sent: safe to send again
					time.Sleep(retryAfter(a))
					a, err = admin.send(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": id, "quantity": 2}, nil)
				}
				if err == nil && a.status == http.StatusGatewayTimeout {
					mu.Lock()
					uncertain[id] += 2
					mu.Unlock()
					return
				}
				if a, ok := record(a, err); ok && a.status == http.StatusOK {
					mu.Lock()
					added[id] += 2
					mu.Unlock()
				}
			} // 3: left to expire
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d clients in %s: answers by status %v; %d requests sent again after a 5xx; add-stock of unknown outcome: %v",
		clients, time.Since(began).Round(time.Millisecond), counts, retried, uncertain)
	require.Greater(t, counts[http.StatusCreated], 100, "enough reservations went through to mean something")
	require.Greater(t, counts[http.StatusConflict], 0, "the hot product ran out")

	// Every acknowledged reservation exists, and the records agree with
	// them: reserved is what open reservations hold, committed what
	// deducted ones took, and nothing was made or lost.
	// Records and reservations are read one by one while the sweep may
	// expire some in between, so reserved and committed are compared with
	// the reservations only once nothing is open (stable); the rest holds
	// at every read.
	check := func(stable bool) (byStatus map[string]int) {
		byStatus = map[string]int{}
		reserved, committed := map[string]int64{}, map[string]int64{}
		for _, id := range acknowledged {
			a := admin.call(http.MethodGet, "/inventory/reservations/"+id, nil)
			require.Equal(t, http.StatusOK, a.status, "acknowledged reservation %s exists: %s", id, a.body)
			r := data[reservation](t, a)
			for _, it := range r.Items {
				switch r.Status {
				case "RESERVED":
					reserved[it.ProductID] += it.Quantity
				case "DEDUCTED":
					committed[it.ProductID] += it.Quantity
				}
			}
			byStatus[r.Status]++
		}
		for _, chunk := range [][]string{ids[:50], ids[50:]} {
			a := admin.call(http.MethodGet, "/inventory?ids="+strings.Join(chunk, ","), nil)
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			records := data[[]stock](t, a)
			require.Len(t, records, len(chunk))
			for _, s := range records {
				assert.GreaterOrEqual(t, s.AvailableQuantity, int64(0), s.ProductID)
				assert.GreaterOrEqual(t, s.ReservedQuantity, int64(0), s.ProductID)
				if stable {
					assert.Equal(t, reserved[s.ProductID], s.ReservedQuantity, "%s: reserved is what open reservations hold", s.ProductID)
					assert.Equal(t, committed[s.ProductID], s.CommittedQuantity, "%s: committed is what deductions took", s.ProductID)
				}
				onHand := s.AvailableQuantity + s.ReservedQuantity + s.CommittedQuantity
				assert.True(t, onHand >= initial+added[s.ProductID] && onHand <= initial+added[s.ProductID]+uncertain[s.ProductID],
					"%s: on hand %d is what was received: %d, and up to %d more of unknown outcome", s.ProductID, onHand, initial+added[s.ProductID], uncertain[s.ProductID])
			}
		}
		return byStatus
	}
	// The reservations left alone expire (TTL 3 s: during the load, and
	// after it); once all have, every unit they held is back.
	byStatus := check(false)
	for deadline := time.Now().Add(60 * time.Second); byStatus["RESERVED"] > 0 && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		byStatus = check(false)
	}
	byStatus = check(true)
	t.Logf("reservations by status: %v", byStatus)
	assert.Zero(t, byStatus["RESERVED"], "every reservation left open expired")
	assert.Positive(t, byStatus["EXPIRED"])
	assert.Positive(t, byStatus["RELEASED"])
	assert.Positive(t, byStatus["DEDUCTED"])
}

// The inventory follows the catalog through the product service's events:
// a new variant's SKU gets a record with nothing on hand, and a deleted
// product's records are retired (nothing more is reserved or received).
func TestInventoryFollowsCatalog(t *testing.T) {
	env := adminEnvOf(t, []string{"product", "inventory"})
	catalog, audio := catalogAdmin(t, env)
	admin := catalog.against("inventory")

	a := catalog.call(http.MethodPost, "/products", fmt.Sprintf(`{"name":"Speaker","brand":"JBL","categoryId":%q,"price":50,"currency":"USD","status":"ACTIVE"}`, audio))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	speaker := decode[product](t, a)
	a = catalog.call(http.MethodPost, "/products/"+speaker.ID+"/variants", `{"sku":"SPK-RED","color":"Red"}`)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)

	var s stock
	waitFor(t, "a record for the new SKU", func() bool {
		a := admin.call(http.MethodGet, "/inventory/SPK-RED", nil)
		if a.status == http.StatusOK {
			s = data[stock](t, a)
		}
		return a.status == http.StatusOK
	})
	assert.Equal(t, stock{ProductID: "SPK-RED"}, s, "nothing on hand")
	require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "SPK-RED", "quantity": 5}).status)
	a = admin.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "SPK-RED", "orderId": "o-1", "quantity": 2})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	held := data[reservation](t, a)

	require.Equal(t, http.StatusOK, catalog.call(http.MethodDelete, "/products/"+speaker.ID, nil).status)
	waitFor(t, "the SKU's record retired", func() bool {
		return strings.Contains(string(admin.call(http.MethodGet, "/inventory/SPK-RED", nil).body), `"retired":true`)
	})
	a = admin.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "SPK-RED", "orderId": "o-2", "quantity": 1})
	assert.Equal(t, http.StatusConflict, a.status, "%s", a.body)
	assert.Equal(t, "PRODUCT_RETIRED", a.errorCode(t))
	a = admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "SPK-RED", "quantity": 1})
	assert.Equal(t, "PRODUCT_RETIRED", a.errorCode(t))
	a = admin.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": held.ReservationID})
	assert.Equal(t, http.StatusOK, a.status, "what was held is still given back: %s", a.body)
	assert.Equal(t, int64(5), data[stock](t, admin.call(http.MethodGet, "/inventory/SPK-RED", nil)).AvailableQuantity)
}

// Crashes under load lose nothing: the inventory app and then its sidecar
// are killed with SIGKILL, and Redis is flushed, while 50 clients reserve
// and release, each sending its request again under its Idempotency-Key
// until it has an answer. Afterwards every acknowledged reservation exists in its
// acknowledged state, no order has two reservations (each applied once),
// and every record balances against the reservations that exist.
func TestInventorySurvivesCrashes(t *testing.T) {
	// Allotments from 20 reservations a second (this load takes them); a
	// killed replica's are taken back once their lease lapses.
	env, admin, shopper := inventoryEnv(t, testenv.WithEnv("inventory", "ALLOTMENT_FROM_RATE=20", "ALLOTMENT_LEASE_TIMEOUT=2s"))
	const clients, initial = 50, 100_000
	products := []string{"HOT", "P1", "P2", "P3"}
	for _, id := range products {
		require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": id, "quantity": initial}).status)
	}

	var mu sync.Mutex
	acknowledged := map[string]string{} // reservation id -> status acknowledged
	var orders []string
	var gaveUp, resent int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// until sends one request under its key until it has an answer that is
	// not a 5xx or a transport error (the app or sidecar may be down).
	until := func(p person, path string, body any, key string) (answer, bool) {
		for try := 0; try < 120; try++ {
			a, err := p.send(http.MethodPost, path, body, map[string]string{"Idempotency-Key": key})
			if err == nil && a.status < 500 {
				return a, true
			}
			mu.Lock()
			resent++
			mu.Unlock()
			time.Sleep(250 * time.Millisecond)
		}
		mu.Lock()
		gaveUp++
		mu.Unlock()
		return answer{}, false
	}
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 11))
			for op := 0; ; op++ {
				select {
				case <-stop:
					return
				default:
				}
				order := fmt.Sprintf("crash-%d-%d", c, op)
				mu.Lock()
				orders = append(orders, order)
				mu.Unlock()
				body := map[string]any{"orderId": order, "items": []reservationItem{{products[rng.IntN(len(products))], 1 + int64(rng.IntN(3))}, {"HOT", 1}}}
				a, ok := until(shopper, "/inventory/reserve", body, order)
				if !ok || a.status != http.StatusCreated {
					continue
				}
				var r struct{ Data reservation }
				if json.Unmarshal(a.body, &r) != nil {
					continue
				}
				status := "RESERVED"
				if rng.IntN(3) == 0 {
					if a, ok := until(shopper, "/inventory/release", map[string]any{"reservationId": r.Data.ReservationID}, order+"-release"); ok && a.status == http.StatusOK {
						status = "RELEASED"
					}
				}
				mu.Lock()
				acknowledged[r.Data.ReservationID] = status
				mu.Unlock()
			}
		})
	}

	ready := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		require.NoError(t, env.WaitAppReady(ctx, "inventory"))
	}
	time.Sleep(2 * time.Second)
	require.NoError(t, env.KillApp("inventory"))
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, env.StartApp("inventory"))
	ready()
	time.Sleep(2 * time.Second)
	require.NoError(t, env.KillSidecar("inventory"))
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, env.StartApp("inventory"))
	ready()
	time.Sleep(time.Second)
	host, port, _ := strings.Cut(env.RedisHost(), ":")
	require.NoError(t, exec.Command("redis-cli", "-h", host, "-p", port, "FLUSHALL").Run(), "Redis flushed mid-load")
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d orders, %d acknowledged; %d requests sent again, %d given up", len(orders), len(acknowledged), resent, gaveUp)
	require.Greater(t, len(acknowledged), 50, "enough went through to mean something")
	assert.Zero(t, gaveUp, "every request had an answer once the service was back")

	reserved := map[string]int64{}
	for _, order := range orders {
		a := admin.call(http.MethodGet, "/inventory/reservations?orderId="+order, nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		list := data[[]reservation](t, a)
		require.LessOrEqual(t, len(list), 1, "order %s: each reservation applied once", order)
		for _, r := range list {
			if want, ok := acknowledged[r.ReservationID]; ok {
				assert.Equal(t, want, r.Status, "reservation %s as acknowledged", r.ReservationID)
				delete(acknowledged, r.ReservationID)
			}
			if r.Status == "RESERVED" {
				for _, it := range r.Items {
					reserved[it.ProductID] += it.Quantity
				}
			}
		}
	}
	assert.Empty(t, acknowledged, "every acknowledged reservation exists")
	// Units allotted ahead go back within seconds: the live replica's once
	// idle, the killed one's once its lease lapsed and the sweep took them.
	records := func() map[string]stock {
		out := map[string]stock{}
		for _, id := range products {
			out[id] = data[stock](t, admin.call(http.MethodGet, "/inventory/"+id, nil))
		}
		return out
	}
	settled := func(rs map[string]stock) bool {
		for _, id := range products {
			if rs[id].ReservedQuantity != reserved[id] {
				return false
			}
		}
		return true
	}
	began := time.Now()
	rs := records()
	for deadline := time.Now().Add(60 * time.Second); !settled(rs) && time.Now().Before(deadline); rs = records() {
		for _, id := range products {
			s := rs[id]
			assert.Equal(t, int64(initial), s.AvailableQuantity+s.ReservedQuantity+s.CommittedQuantity, "%s: nothing made or lost", id)
			assert.GreaterOrEqual(t, s.ReservedQuantity, reserved[id], "%s: the reservations' units stay held", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("allotted units back in %s", time.Since(began).Round(10*time.Millisecond))
	for _, id := range products {
		s := rs[id]
		assert.Equal(t, reserved[id], s.ReservedQuantity, "%s: reserved is what the reservations hold", id)
		assert.Equal(t, int64(initial), s.AvailableQuantity+s.ReservedQuantity+s.CommittedQuantity, "%s: nothing made or lost", id)
	}
}

// A product's available stock crossing its threshold, down and back up,
// is published once each way on the stock topic, from the change's own
// transaction; changes that stay on one side publish nothing.
func TestInventoryStockEvents(t *testing.T) {
	env, admin, shopper := inventoryEnv(t, testenv.WithEnv("inventory", "STOCK_EVENT_POLL_INTERVAL=100ms"))
	require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "LOW-1", "quantity": 10, "lowStockThreshold": 5}).status)
	a := shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "LOW-1", "orderId": "o-1", "quantity": 6})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	held := data[reservation](t, a)
	a = shopper.call(http.MethodPost, "/inventory/reserve", map[string]any{"productId": "LOW-1", "orderId": "o-2", "quantity": 1})
	require.Equal(t, http.StatusCreated, a.status, "still low: no event")
	require.Equal(t, http.StatusOK, shopper.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": held.ReservationID}).status)
	require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/add-stock", map[string]any{"productId": "LOW-1", "quantity": 1}).status, "still above: no event")

	type stockEvent struct {
		ID, Type, Source, Subject string
		Data                      struct {
			ID, Type, ProductID                  string
			AvailableQuantity, LowStockThreshold int64
		}
	}
	var events []stockEvent
	waitFor(t, "two stock events", func() bool {
		events = nil
		for _, e := range streamEntries(t, env, "stock") {
			var se stockEvent
			require.NoError(t, json.Unmarshal(e, &se))
			events = append(events, se)
		}
		return len(events) >= 2
	})
	time.Sleep(500 * time.Millisecond) // five relay passes: nothing more comes
	events = events[:0]
	for _, e := range streamEntries(t, env, "stock") {
		var se stockEvent
		require.NoError(t, json.Unmarshal(e, &se))
		events = append(events, se)
	}
	require.Len(t, events, 2)
	assert.Equal(t, "com.qeetmart.stock.low", events[0].Type)
	assert.Equal(t, "inventory", events[0].Source)
	assert.Equal(t, "LOW-1", events[0].Subject)
	assert.Equal(t, events[0].ID, events[0].Data.ID)
	assert.Equal(t, int64(4), events[0].Data.AvailableQuantity)
	assert.Equal(t, int64(5), events[0].Data.LowStockThreshold)
	assert.Equal(t, "stock.restored", events[1].Data.Type)
	assert.Equal(t, int64(9), events[1].Data.AvailableQuantity)
}

// retryAfter is how long a 5xx answer asks the client to wait, 250 ms when
// it does not say.
func retryAfter(a answer) time.Duration {
	if n, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 250 * time.Millisecond
}

// shed reports an answer the gateway gave without sending the request on
// (503 SERVICE_BUSY): repeating it is safe whatever the request was.
func shed(a answer) bool {
	return a.status == http.StatusServiceUnavailable && strings.Contains(string(a.body), `"code":"SERVICE_BUSY"`)
}

// A store written before reservation pages keeps its reservations: at
// start the service moves each into the page its id names, and it is read,
// listed and released as before.
func TestInventoryMovesReservationsIntoPages(t *testing.T) {
	env, admin, _ := inventoryEnv(t)
	require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/inventory/init", map[string]any{"productId": "OLD", "quantity": 10}).status)

	// A reservation of 4 as the service stored it before pages: a record
	// of its own, its units held in the stock record.
	id := uuid.Must(uuid.NewV7())
	id[15] |= 1 // not a page's own id
	now := time.Now().UTC()
	old := map[string]any{"reservationId": id.String(), "orderId": "old-order", "owner": "someone", "status": "RESERVED",
		"items": []reservationItem{{"OLD", 4}}, "expiresAt": now.Add(time.Hour), "createdAt": now, "updatedAt": now,
		"created": now.Format("2006-01-02T15:04:05.000000Z"), "due": now.Add(time.Hour).Format("2006-01-02T15:04:05.000000Z")}
	value, err := json.Marshal(old)
	require.NoError(t, err)
	conn, err := pgx.Connect(t.Context(), env.DSN("inventory"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), `INSERT INTO state (key, value, isbinary) VALUES ($1, $2::jsonb, false)`, "inventory||reservation:"+id.String(), string(value))
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `UPDATE state SET value = value || '{"availableQuantity": 6, "reservedQuantity": 4}' WHERE key = 'inventory||stock:OLD'`)
	require.NoError(t, err)

	require.NoError(t, env.StopApp("inventory"))
	require.NoError(t, env.StartApp("inventory"))
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	require.NoError(t, env.WaitAppReady(ctx, "inventory"))

	var a answer
	require.Eventually(t, func() bool {
		a = admin.call(http.MethodGet, "/inventory/reservations/"+id.String(), nil)
		return a.status == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "the old reservation is found: %s", a.body)
	r := data[reservation](t, a)
	assert.Equal(t, "RESERVED", r.Status)
	assert.Equal(t, []reservationItem{{"OLD", 4}}, r.Items)
	list := data[[]reservation](t, admin.call(http.MethodGet, "/inventory/reservations?orderId=old-order", nil))
	require.Len(t, list, 1)
	assert.Equal(t, id.String(), list[0].ReservationID)

	a = admin.call(http.MethodPost, "/inventory/release", map[string]any{"reservationId": id.String()})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, stock{ProductID: "OLD", AvailableQuantity: 10}, data[stock](t, admin.call(http.MethodGet, "/inventory/OLD", nil)))
	var left int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM state WHERE key LIKE 'inventory||reservation:%'`).Scan(&left))
	assert.Zero(t, left, "no reservation is left outside a page")
}
