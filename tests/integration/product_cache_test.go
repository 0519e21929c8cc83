package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

// cacheTTL is the staleness bound these tests set (PRODUCT_CACHE_TTL),
// longer than the default so that a stale read is certain to be seen.
const cacheTTL = 3 * time.Second

// onReplica calls one product replica on its own port, as its sidecar
// would (the sidecar's token; an admin's caller headers when admin), so a
// test can choose which replica answers.
func onReplica(t *testing.T, env *testenv.Env, replica, method, path, body string, admin bool) answer {
	t.Helper()
	a, err := tryReplica(env, replica, method, path, body, admin)
	require.NoError(t, err)
	return a
}

// tryReplica is onReplica for goroutines: it never stops the test.
func tryReplica(env *testenv.Env, replica, method, path, body string, admin bool) (answer, error) {
	req, err := http.NewRequest(method, env.URL(replica)+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("dapr-api-token", env.AppAPIToken(replica))
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("X-User-Id", "0190f5c2-0000-7000-8000-00000000000a")
		req.Header.Set("X-User-Role", "ADMIN")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}, err
}

// TestProductCaching: reads carry ETag and Cache-Control and revalidate to
// 304 through the gateway; a write on one replica is seen on another
// within the cache's bound, and at once on its own.
func TestProductCaching(t *testing.T) {
	env := adminEnv(t, "product", testenv.WithEnv("product", "PRODUCT_CACHE_TTL="+cacheTTL.String()))
	admin, audio := catalogAdmin(t, env)
	body := func(price string) string {
		return fmt.Sprintf(`{"name":"Sony WH-1000XM5","brand":"Sony","categoryId":%q,"price":%s,"currency":"USD","status":"ACTIVE"}`, audio, price)
	}
	a := admin.call(http.MethodPost, "/products", body("349.90"))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	id := decode[product](t, a).ID

	t.Run("ETag, Cache-Control and 304 through the gateway", func(t *testing.T) {
		for _, path := range []string{"/products/" + id, "/categories/" + audio, "/categories", "/products/" + id + "/variants"} {
			first := anonymous(t, env, http.MethodGet, path, "")
			require.Equal(t, http.StatusOK, first.status, path)
			tag := first.header.Get("ETag")
			require.NotEmpty(t, tag, path)
			assert.Equal(t, "public, max-age=5", first.header.Get("Cache-Control"), path)

			again := do(t, env, call{method: http.MethodGet, path: "/api/v1" + path, header: map[string]string{"If-None-Match": tag}, contract: "product"})
			assert.Equal(t, http.StatusNotModified, again.status, path)
			assert.Empty(t, again.body, path)
			assert.Equal(t, tag, again.header.Get("ETag"), path)

			stale := do(t, env, call{method: http.MethodGet, path: "/api/v1" + path, header: map[string]string{"If-None-Match": `"not-this-one"`}, contract: "product"})
			assert.Equal(t, http.StatusOK, stale.status, path)
		}
		a, err := admin.send(http.MethodGet, "/products/"+id, nil, nil)
		require.NoError(t, err)
		assert.Equal(t, "private, no-cache", a.header.Get("Cache-Control"), "an admin's view may show hidden products: never shared")
		missing := anonymous(t, env, http.MethodGet, "/products/0190f5c2-0000-7000-8000-000000000000", "")
		assert.Equal(t, http.StatusNotFound, missing.status)
		assert.Empty(t, missing.header.Get("ETag"), "only successes carry a tag")
	})

	t.Run("a write on one replica is seen on another within the bound", func(t *testing.T) {
		env.AddReplica("product", "2")
		path := "/products/" + id
		require.Equal(t, http.StatusOK, onReplica(t, env, "product#2", http.MethodGet, path, "", false).status) // now cached there
		before := anonymous(t, env, http.MethodGet, path, "").header.Get("ETag")

		wrote := time.Now()
		require.Equal(t, http.StatusOK, onReplica(t, env, "product", http.MethodPut, path, body("299.00"), true).status)
		assert.Contains(t, string(onReplica(t, env, "product", http.MethodGet, path, "", false).body), `"price":299.00`,
			"the writing replica reads its own write at once")
		assert.Contains(t, string(onReplica(t, env, "product#2", http.MethodGet, path, "", false).body), `"price":349.90`,
			"the other replica serves its cached copy: the cache is in use")

		var seen time.Duration
		for !strings.Contains(string(onReplica(t, env, "product#2", http.MethodGet, path, "", false).body), `"price":299.00`) {
			if seen = time.Since(wrote); seen > 30*time.Second {
				t.Fatalf("product#2 still serves the old price after %v", seen)
			}
			time.Sleep(20 * time.Millisecond)
		}
		seen = time.Since(wrote)
		t.Logf("write on product seen on product#2 after %v (bound %v)", seen.Round(time.Millisecond), cacheTTL)
		assert.LessOrEqual(t, seen, cacheTTL+time.Second, "stale no longer than PRODUCT_CACHE_TTL (plus the polling's own time)")

		waitFor(t, "every replica to answer the new price", func() bool {
			a := anonymous(t, env, http.MethodGet, path, "")
			return strings.Contains(string(a.body), `"price":299.00`)
		})
		a := do(t, env, call{method: http.MethodGet, path: "/api/v1" + path, header: map[string]string{"If-None-Match": before}, contract: "product"})
		assert.Equal(t, http.StatusOK, a.status, "the old tag no longer matches")
		assert.NotEqual(t, before, a.header.Get("ETag"))
	})
}

// streamEvents is every CloudEvent on the Redis stream of topic, as Dapr's
// Redis pub/sub stores them (field "data").
func streamEvents(t *testing.T, env *testenv.Env, topic string) []cloudEvent {
	t.Helper()
	var events []cloudEvent
	for _, raw := range streamEntries(t, env, topic) {
		var ce cloudEvent
		require.NoError(t, json.Unmarshal(raw, &ce), "%s", raw)
		events = append(events, ce)
	}
	return events
}

// streamEntries are the CloudEvents on topic's Redis stream, as sent.
func streamEntries(t *testing.T, env *testenv.Env, topic string) []json.RawMessage {
	t.Helper()
	host, port, _ := strings.Cut(env.RedisHost(), ":")
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "--json", "XRANGE", topic, "-", "+").Output()
	require.NoError(t, err)
	var entries [][]json.RawMessage // [id, [field, value, ...]]
	if strings.TrimSpace(string(out)) != "" {
		require.NoError(t, json.Unmarshal(out, &entries), "%s", out)
	}
	var data []json.RawMessage
	for _, e := range entries {
		var fields []string
		require.NoError(t, json.Unmarshal(e[1], &fields))
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "data" {
				data = append(data, json.RawMessage(fields[i+1]))
			}
		}
	}
	return data
}

type cloudEvent struct {
	ID, Type, Source, Subject, Topic, Pubsubname string
	Data                                         struct {
		ID, Type, ProductID, VariantID string
		Product                        struct {
			ID, Name string
			Price    json.Number
			Deleted  bool
		}
		Variants []struct{ ID, SKU string }
	}
}

// TestProductEvents: every committed product and variant write publishes
// one CloudEvent on topic "products", and a write that fails publishes
// nothing.
func TestProductEvents(t *testing.T) {
	env := adminEnv(t, "product")
	admin, audio := catalogAdmin(t, env)
	body := func(name string) string {
		return fmt.Sprintf(`{"name":%q,"brand":"Sony","categoryId":%q,"price":10,"currency":"USD","status":"ACTIVE"}`, name, audio)
	}
	started := time.Now()
	a := admin.call(http.MethodPost, "/products", body("Speaker"))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	id := decode[product](t, a).ID
	a = admin.call(http.MethodPost, "/products/"+id+"/variants", `{"sku":"SPK-RED","color":"red","additionalPrice":1}`)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	variant := decode[struct{ ID string }](t, a).ID
	require.Equal(t, http.StatusConflict, admin.call(http.MethodPost, "/products/"+id+"/variants", `{"sku":"spk-red","additionalPrice":0}`).status,
		"a taken SKU: the write fails, and must publish nothing")
	require.Equal(t, http.StatusOK, admin.call(http.MethodPut, "/products/"+id+"/variants/"+variant, `{"sku":"SPK-BLUE","color":"blue","additionalPrice":1}`).status)
	require.Equal(t, http.StatusOK, admin.call(http.MethodDelete, "/products/"+id+"/variants/"+variant, nil).status)
	require.Equal(t, http.StatusOK, admin.call(http.MethodPut, "/products/"+id, body("Speaker II")).status)
	require.Equal(t, http.StatusOK, admin.call(http.MethodDelete, "/products/"+id, nil).status)

	want := []string{"product.created", "variant.created", "variant.updated", "variant.deleted", "product.updated", "product.deleted"}
	var events []cloudEvent
	require.Eventually(t, func() bool {
		events = streamEvents(t, env, "products")
		return len(events) >= len(want)
	}, 60*time.Second, 200*time.Millisecond, "the relay publishes every change")
	wrote := time.Since(started)
	t.Logf("%d events on the topic %v after the first of the writes", len(want), wrote.Round(10*time.Millisecond))
	time.Sleep(3 * time.Second) // anything more (a claim, the failed write) would follow as soon
	events = streamEvents(t, env, "products")
	require.Len(t, events, len(want), "one event per committed write: no claims, nothing from the failed one")

	byType := map[string]cloudEvent{}
	ids := map[string]bool{}
	for _, e := range events {
		assert.Equal(t, "com.qeetmart."+e.Data.Type, e.Type)
		assert.Equal(t, e.Data.ID, e.ID, "the CloudEvent id is the event's: a redelivery keeps it")
		assert.Equal(t, "product", e.Source)
		assert.Equal(t, id, e.Subject)
		assert.Equal(t, id, e.Data.ProductID)
		ids[e.ID] = true
		byType[e.Data.Type] = e
	}
	assert.Len(t, ids, len(want), "ids are unique")
	for _, typ := range want {
		assert.Contains(t, byType, typ)
	}
	assert.Equal(t, variant, byType["variant.created"].Data.VariantID)
	assert.Equal(t, "SPK-RED", byType["variant.created"].Data.Variants[0].SKU)
	assert.Equal(t, "SPK-BLUE", byType["variant.updated"].Data.Variants[0].SKU)
	assert.Empty(t, byType["variant.deleted"].Data.Variants)
	assert.Equal(t, "Speaker II", byType["product.updated"].Data.Product.Name)
	assert.Equal(t, "10.00", byType["product.updated"].Data.Product.Price.String(), "exact, as the API writes it")
	assert.True(t, byType["product.deleted"].Data.Product.Deleted)
}
