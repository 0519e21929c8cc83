package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

type category struct {
	ID, Name, Description string
}

// anonymous calls through the gateway without a token, checked against the
// product contract.
func anonymous(t *testing.T, env *testenv.Env, method, path string, body string) answer {
	t.Helper()
	h := map[string]string{}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return do(t, env, call{method: method, path: "/api/v1" + path, body: body, header: h, contract: "product"})
}

// catalogAdmin logs env's admin in and makes a category "Audio" for the
// test's products.
func catalogAdmin(t *testing.T, env *testenv.Env) (admin person, categoryID string) {
	t.Helper()
	admin = logIn(t, env, "root@example.com", userAdminPassword).against("product")
	a := admin.call(http.MethodPost, "/categories", map[string]string{"name": "Audio"})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	return admin, decode[category](t, a).ID
}

func TestProductCategories(t *testing.T) {
	env := adminEnv(t, "product")
	admin := logIn(t, env, "root@example.com", userAdminPassword).against("product")
	shopper := signUp(t, env, "shopper@example.com").against("product")

	a := admin.call(http.MethodPost, "/categories", map[string]string{"name": "  Audio ", "description": "Headphones and speakers"})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	audio := decode[category](t, a)
	assert.Equal(t, "Audio", audio.Name, "trimmed")

	t.Run("reads are anonymous", func(t *testing.T) {
		a := anonymous(t, env, http.MethodGet, "/categories", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, []category{audio}, decode[[]category](t, a))
		a = anonymous(t, env, http.MethodGet, "/categories/"+audio.ID, "")
		assert.Equal(t, audio, decode[category](t, a))
		for _, id := range []string{"0190f5c2-0000-7000-8000-000000000000", "not-a-uuid"} {
			a = anonymous(t, env, http.MethodGet, "/categories/"+id, "")
			assert.Equal(t, http.StatusNotFound, a.status)
			assert.Equal(t, "Category not found with id: "+id, a.message(t))
		}
	})

	t.Run("writes are for admins", func(t *testing.T) {
		body := `{"name":"Sneaky"}`
		assert.Equal(t, http.StatusUnauthorized, anonymous(t, env, http.MethodPost, "/categories", body).status)
		for _, req := range []struct{ method, path string }{
			{http.MethodPost, "/categories"}, {http.MethodPut, "/categories/" + audio.ID}, {http.MethodDelete, "/categories/" + audio.ID},
		} {
			a := shopper.call(req.method, req.path, body)
			assert.Equal(t, http.StatusForbidden, a.status, "%s %s", req.method, req.path)
			assert.Equal(t, "You are not authorized to access this resource", a.message(t))
		}
		assert.Len(t, decode[[]category](t, anonymous(t, env, http.MethodGet, "/categories", "")), 1, "nothing changed")
	})

	t.Run("names are unique, case ignored, even when created at once", func(t *testing.T) {
		a := admin.call(http.MethodPost, "/categories", map[string]string{"name": "AUDIO"})
		assert.Equal(t, http.StatusConflict, a.status)
		assert.Equal(t, "Category with name 'AUDIO' already exists", a.message(t))
		answers := concurrently(t, 20, func(i int) (answer, error) {
			name := "Wearables"
			if i%2 == 1 {
				name = strings.ToUpper(name)
			}
			return admin.send(http.MethodPost, "/categories", map[string]string{"name": name}, nil)
		})
		assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: 19}, statusCounts(answers))
	})

	t.Run("rename, clash and delete", func(t *testing.T) {
		a := admin.call(http.MethodPut, "/categories/"+audio.ID, map[string]string{"name": "wearables"})
		assert.Equal(t, http.StatusConflict, a.status, "another category's name")
		a = admin.call(http.MethodPut, "/categories/"+audio.ID, map[string]string{"name": "audio", "description": "Sound"})
		require.Equal(t, http.StatusOK, a.status, "a change of case keeps the name: %s", a.body)
		a = admin.call(http.MethodPut, "/categories/"+audio.ID, map[string]string{"name": "Sound"})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		require.Equal(t, http.StatusCreated, admin.call(http.MethodPost, "/categories", map[string]string{"name": "Audio"}).status, "the old name was freed")

		a = admin.call(http.MethodDelete, "/categories/"+audio.ID, nil)
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, `{"message":"Category deleted successfully"}`, string(a.body))
		assert.Equal(t, http.StatusNotFound, admin.call(http.MethodDelete, "/categories/"+audio.ID, nil).status)
		assert.Equal(t, http.StatusCreated, admin.call(http.MethodPost, "/categories", map[string]string{"name": "sound"}).status, "a deleted category frees its name")
		names := []string{}
		for _, c := range decode[[]category](t, anonymous(t, env, http.MethodGet, "/categories", "")) {
			names = append(names, strings.ToLower(c.Name)) // which case won the race varies
		}
		assert.Equal(t, []string{"audio", "sound", "wearables"}, names, "by name, case ignored")
	})

	t.Run("a category deleted while products are created in it: one side wins", func(t *testing.T) {
		// Each round deletes a new category while four products are
		// created in it. A delete that succeeds must leave no product in
		// the category; one refused as in use must leave one there.
		outcomes := map[string]int{}
		for round := range 20 {
			a := admin.call(http.MethodPost, "/categories", map[string]string{"name": fmt.Sprintf("Race %d", round)})
			require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
			id := decode[category](t, a).ID
			answers := concurrently(t, 5, func(i int) (answer, error) {
				if i == 0 {
					return admin.send(http.MethodDelete, "/categories/"+id, nil, nil)
				}
				return admin.send(http.MethodPost, "/products", fmt.Sprintf(
					`{"name":"Racer %d-%d","brand":"Acme","categoryId":%q,"price":1,"currency":"USD","status":"INACTIVE"}`, round, i, id), nil)
			})
			created := statusCounts(answers[1:])
			listed := decode[struct{ Items []product }](t, admin.call(http.MethodGet, "/products?limit=100&categoryId="+id, nil))
			switch answers[0].status {
			case http.StatusOK:
				assert.Equal(t, map[int]int{http.StatusNotFound: 4}, created, "round %d: the category was deleted, so no product may be in it", round)
				assert.Empty(t, listed.Items, "round %d", round)
				outcomes["deleted"]++
			case http.StatusConflict:
				assert.Positive(t, created[http.StatusCreated], "round %d: in use means a product is there: %v", round, created)
				assert.Len(t, listed.Items, created[http.StatusCreated], "round %d", round)
				outcomes["in use"]++
			default:
				t.Errorf("round %d: delete answered %d: %s", round, answers[0].status, answers[0].body)
			}
		}
		t.Logf("20 rounds of a delete against four creates: %v", outcomes)
	})

	t.Run("bad input is a 400 naming the field", func(t *testing.T) {
		for body, field := range map[string]string{
			`{}`:            "name",
			`{"name":"  "}`: "name",
			`{"name":"` + strings.Repeat("n", 101) + `"}`:                   "name",
			`{"name":"A","description":"` + strings.Repeat("d", 501) + `"}`: "description",
			`{"name":5}`:          "name",
			`{"name":"A\u0000B"}`: "name",
		} {
			a := admin.call(http.MethodPost, "/categories", body)
			assert.Equal(t, http.StatusBadRequest, a.status, body)
			assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), body)
			assert.Contains(t, string(a.body), fmt.Sprintf("%q", field), body)
		}
		for _, body := range []string{`{"name":`, `[]`, ``} {
			assert.Equal(t, http.StatusBadRequest, admin.call(http.MethodPost, "/categories", body).status, "%q", body)
		}
	})
}

type product struct {
	ID, Slug, Name, Brand, CategoryID, Currency, Status string
	Images                                              []string
}

func TestProductProducts(t *testing.T) {
	env := adminEnv(t, "product")
	admin, audio := catalogAdmin(t, env)
	shopper := signUp(t, env, "shopper@example.com").against("product")
	body := func(name, price, status string) string {
		return fmt.Sprintf(`{"name":%q,"brand":"Sony","categoryId":%q,"price":%s,"currency":"USD","status":%q,"images":["https://img.example.com/1.jpg"]}`,
			name, audio, price, status)
	}

	a := admin.call(http.MethodPost, "/products", body("Sony WH-1000XM5", "349.9", "ACTIVE"))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	headphones := decode[product](t, a)
	assert.Equal(t, "sony-wh-1000xm5", headphones.Slug)
	assert.Contains(t, string(a.body), `"price":349.90`, "exact, with the currency's decimals")
	a = admin.call(http.MethodPost, "/products", body("Sony WH-1000XM5", "0.30", "INACTIVE"))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	hidden := decode[product](t, a)
	assert.Equal(t, "sony-wh-1000xm5-2", hidden.Slug, "slugs are unique")
	assert.Contains(t, string(a.body), `"price":0.30`)

	t.Run("shoppers see ACTIVE and OUT_OF_STOCK only; admins see all", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, anonymous(t, env, http.MethodGet, "/products/"+headphones.ID, "").status)
		a := anonymous(t, env, http.MethodGet, "/products/slug/"+headphones.Slug, "")
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, headphones.ID, decode[product](t, a).ID)
		for _, path := range []string{"/products/" + hidden.ID, "/products/slug/" + hidden.Slug} {
			a = anonymous(t, env, http.MethodGet, path, "")
			assert.Equal(t, http.StatusNotFound, a.status, path)
			assert.Equal(t, http.StatusNotFound, shopper.call(http.MethodGet, path, nil).status, path)
			assert.Equal(t, http.StatusOK, admin.call(http.MethodGet, path, nil).status, path)
		}
		a = anonymous(t, env, http.MethodGet, "/products/not-a-uuid", "")
		assert.Equal(t, "Product not found with id: not-a-uuid", a.message(t))
	})

	t.Run("writes are for admins, in existing categories", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, anonymous(t, env, http.MethodPost, "/products", body("X", "1", "ACTIVE")).status)
		for _, req := range []struct{ method, path string }{
			{http.MethodPost, "/products"}, {http.MethodPut, "/products/" + headphones.ID}, {http.MethodDelete, "/products/" + headphones.ID},
		} {
			assert.Equal(t, http.StatusForbidden, shopper.call(req.method, req.path, body("X", "1", "ACTIVE")).status, "%s %s", req.method, req.path)
		}
		nowhere := "0190f5c2-0000-7000-8000-000000000000"
		a := admin.call(http.MethodPost, "/products", strings.Replace(body("X", "1", "ACTIVE"), audio, nowhere, 1))
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.Equal(t, "Category not found with id: "+nowhere, a.message(t))
	})

	t.Run("bad input is a 400 naming the field; prices are never rounded", func(t *testing.T) {
		for b, field := range map[string]string{
			body("X", "1.999", "ACTIVE"):                                   "price",
			body("X", "-1", "ACTIVE"):                                      "price",
			body("X", "1e3", "ACTIVE"):                                     "price",
			body("X", `"cheap"`, "ACTIVE"):                                 "price",
			body("X", "true", "ACTIVE"):                                    "price",
			body("X", "1", "GONE"):                                         "status",
			body("", "1", "ACTIVE"):                                        "name",
			strings.Replace(body("X", "1", "ACTIVE"), `"USD"`, `"usd"`, 1): "currency",
			strings.Replace(body("X", "1", "ACTIVE"), "https://img", "http://img", 1):                      "images[0]",
			strings.Replace(body("X", "1", "ACTIVE"), `"categoryId":"`+audio+`"`, `"categoryId":"7"`, 1):   "categoryId",
			strings.Replace(body("X", "1", "ACTIVE"), `["https://img.example.com/1.jpg"]`, `"one.jpg"`, 1): "images",
		} {
			a := admin.call(http.MethodPost, "/products", b)
			assert.Equal(t, http.StatusBadRequest, a.status, b)
			assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), b)
			assert.Contains(t, string(a.body), fmt.Sprintf("%q", field), b)
		}
	})

	t.Run("replace keeps the slug; delete is soft and frees the category", func(t *testing.T) {
		a := admin.call(http.MethodPut, "/products/"+headphones.ID, body("Sony WH-1000XM6", "399.00", "OUT_OF_STOCK"))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		replaced := decode[product](t, a)
		assert.Equal(t, headphones.Slug, replaced.Slug)
		assert.Equal(t, "OUT_OF_STOCK", replaced.Status)
		assert.Equal(t, http.StatusOK, anonymous(t, env, http.MethodGet, "/products/"+headphones.ID, "").status, "OUT_OF_STOCK is shown")

		a = admin.call(http.MethodDelete, "/categories/"+audio, nil)
		assert.Equal(t, http.StatusConflict, a.status)
		assert.Equal(t, "Category cannot be deleted because active products are linked to it", a.message(t))
		for _, p := range []product{headphones, hidden} {
			a = admin.call(http.MethodDelete, "/products/"+p.ID, nil)
			require.Equal(t, http.StatusOK, a.status)
			assert.Equal(t, `{"message":"Product deleted successfully"}`, string(a.body))
			assert.Equal(t, http.StatusNotFound, admin.call(http.MethodGet, "/products/"+p.ID, nil).status, "gone, even for admins")
			assert.Equal(t, http.StatusNotFound, admin.call(http.MethodGet, "/products/slug/"+p.Slug, nil).status)
			assert.Equal(t, http.StatusNotFound, admin.call(http.MethodPut, "/products/"+p.ID, body("Y", "1", "ACTIVE")).status)
		}
		assert.Equal(t, http.StatusOK, admin.call(http.MethodDelete, "/categories/"+audio, nil).status, "only deleted products used it")
	})
}

type variant struct {
	ID, ProductID, SKU, Color, Size string
}

func TestProductVariants(t *testing.T) {
	env := adminEnv(t, "product")
	admin, audio := catalogAdmin(t, env)
	shopper := signUp(t, env, "shopper@example.com").against("product")
	newProduct := func(name, currency, status string) product {
		t.Helper()
		a := admin.call(http.MethodPost, "/products", fmt.Sprintf(`{"name":%q,"brand":"Sony","categoryId":%q,"price":100,"currency":%q,"status":%q}`, name, audio, currency, status))
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		return decode[product](t, a)
	}
	headphones := newProduct("Headphones", "USD", "ACTIVE")
	variants := "/products/" + headphones.ID + "/variants"

	a := admin.call(http.MethodPost, variants, `{"sku":" WH-BLK ","color":"Black","size":"M","additionalPrice":10.5}`)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	black := decode[variant](t, a)
	assert.Equal(t, "WH-BLK", black.SKU)
	assert.Equal(t, headphones.ID, black.ProductID)
	assert.Contains(t, string(a.body), `"additionalPrice":10.50`)
	a = admin.call(http.MethodPost, variants, `{"sku":"WH-SLV"}`)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	assert.Contains(t, string(a.body), `"additionalPrice":0.00`, "defaults to 0")

	t.Run("reads follow the product's visibility", func(t *testing.T) {
		a := anonymous(t, env, http.MethodGet, variants, "")
		require.Equal(t, http.StatusOK, a.status)
		list := decode[[]variant](t, a)
		require.Len(t, list, 2)
		assert.Equal(t, []string{"WH-BLK", "WH-SLV"}, []string{list[0].SKU, list[1].SKU}, "oldest first")
		hidden := newProduct("Prototype", "USD", "INACTIVE")
		assert.Equal(t, http.StatusNotFound, anonymous(t, env, http.MethodGet, "/products/"+hidden.ID+"/variants", "").status)
		assert.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/products/"+hidden.ID+"/variants", nil).status)
		assert.NotContains(t, string(anonymous(t, env, http.MethodGet, "/products/"+headphones.ID, "").body), "WH-BLK", "a product answer does not carry its variants")
	})

	t.Run("SKUs are unique across the catalog, case ignored, under 20 parallel creates", func(t *testing.T) {
		products := make([]product, 20)
		for i := range products {
			products[i] = newProduct(fmt.Sprintf("Speaker %d", i), "USD", "ACTIVE")
		}
		answers := concurrently(t, 20, func(i int) (answer, error) {
			sku := "SPK-1"
			if i%2 == 1 {
				sku = "spk-1"
			}
			return admin.send(http.MethodPost, "/products/"+products[i].ID+"/variants", map[string]string{"sku": sku}, nil)
		})
		assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: 19}, statusCounts(answers))
		for _, a := range answers {
			if a.status == http.StatusConflict {
				assert.Equal(t, "SKU_EXISTS", a.errorCode(t))
			}
		}
		a := admin.call(http.MethodPost, variants, `{"sku":"wh-blk"}`)
		assert.Equal(t, http.StatusConflict, a.status)
		assert.Equal(t, "Variant with SKU 'wh-blk' already exists", a.message(t))
	})

	t.Run("writes are for admins", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, anonymous(t, env, http.MethodPost, variants, `{"sku":"X"}`).status)
		assert.Equal(t, http.StatusForbidden, shopper.call(http.MethodPost, variants, `{"sku":"X"}`).status)
		assert.Equal(t, http.StatusForbidden, shopper.call(http.MethodPut, variants+"/"+black.ID, `{"sku":"X"}`).status)
		assert.Equal(t, http.StatusForbidden, shopper.call(http.MethodDelete, variants+"/"+black.ID, nil).status)
	})

	t.Run("bad input", func(t *testing.T) {
		yen := newProduct("Yen headphones", "JPY", "ACTIVE")
		for path, b := range map[string]string{
			variants: `{"sku":""}`, variants + "/": `{"sku":"` + strings.Repeat("s", 101) + `"}`,
			"/products/" + yen.ID + "/variants": `{"sku":"JP-1","additionalPrice":1.5}`,
		} {
			a := admin.call(http.MethodPost, strings.TrimSuffix(path, "/"), b)
			assert.Equal(t, http.StatusBadRequest, a.status, b)
			assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), b)
		}
		assert.Equal(t, http.StatusBadRequest, admin.call(http.MethodPost, variants, `{"sku":"X","additionalPrice":-1}`).status)
		assert.Equal(t, http.StatusBadRequest, admin.call(http.MethodPost, variants, `{"sku":"X","additionalPrice":"1"}`).status)
	})

	t.Run("replace moves the SKU; delete frees it; another product's variant is 404", func(t *testing.T) {
		a := admin.call(http.MethodPut, variants+"/"+black.ID, `{"sku":"WH-BLK-2","color":"Matte black"}`)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, "Matte black", decode[variant](t, a).Color)
		assert.Equal(t, http.StatusCreated, admin.call(http.MethodPost, variants, `{"sku":"WH-BLK"}`).status, "the old SKU was freed")
		other := newProduct("Other", "USD", "ACTIVE")
		a = admin.call(http.MethodPut, "/products/"+other.ID+"/variants/"+black.ID, `{"sku":"Z"}`)
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.Equal(t, "Variant not found with id: "+black.ID, a.message(t))

		a = admin.call(http.MethodDelete, variants+"/"+black.ID, nil)
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, `{"message":"Variant deleted successfully"}`, string(a.body))
		assert.Equal(t, http.StatusCreated, admin.call(http.MethodPost, "/products/"+other.ID+"/variants", `{"sku":"wh-blk-2"}`).status, "a deleted variant frees its SKU")

		require.Equal(t, http.StatusOK, admin.call(http.MethodDelete, "/products/"+other.ID, nil).status)
		assert.Equal(t, http.StatusNotFound, admin.call(http.MethodGet, "/products/"+other.ID+"/variants", nil).status, "gone with its product")
		assert.Equal(t, http.StatusCreated, admin.call(http.MethodPost, variants, `{"sku":"WH-BLK-2"}`).status, "a deleted product frees its SKUs")
	})
}

type productPage struct {
	Items      []product
	NextCursor *string
}

func TestProductListing(t *testing.T) {
	env := adminEnv(t, "product")
	admin := logIn(t, env, "root@example.com", userAdminPassword).against("product")
	newCategory := func(name string) string {
		a := admin.call(http.MethodPost, "/categories", map[string]string{"name": name})
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		return decode[category](t, a).ID
	}
	audio, video := newCategory("Audio"), newCategory("Video")
	newProduct := func(name, brand, category, price, status string) product {
		a := admin.call(http.MethodPost, "/products", fmt.Sprintf(`{"name":%q,"brand":%q,"categoryId":%q,"price":%s,"currency":"USD","status":%q}`,
			name, brand, category, price, status))
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		return decode[product](t, a)
	}
	newProduct("Alpha", "Sony", audio, "10.00", "ACTIVE")
	newProduct("bravo", "sony", audio, "9.99", "OUT_OF_STOCK")
	newProduct("Charlie", "Bose", audio, "10.01", "INACTIVE")
	newProduct("Delta", "Bose", video, "250", "ACTIVE")
	newProduct("Echo", "LG", video, "0.5", "DISCONTINUED")
	gone := newProduct("Foxtrot", "LG", video, "1", "ACTIVE")
	require.Equal(t, http.StatusOK, admin.call(http.MethodDelete, "/products/"+gone.ID, nil).status)

	names := func(p person, query string) []string {
		t.Helper()
		a := p.call(http.MethodGet, "/products?"+query, nil)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", query, a.body)
		var out []string
		if strings.Contains(query, "limit=") || strings.Contains(query, "cursor=") {
			for _, it := range decode[productPage](t, a).Items {
				out = append(out, it.Name)
			}
			return out
		}
		for _, it := range decode[struct{ Content []product }](t, a).Content {
			out = append(out, it.Name)
		}
		return out
	}
	shopper := signUp(t, env, "shopper@example.com").against("product")

	t.Run("filters and sorts; shoppers see ACTIVE and OUT_OF_STOCK only", func(t *testing.T) {
		assert.Equal(t, []string{"Delta", "bravo", "Alpha"}, names(shopper, ""), "newest first by default; no deleted, no hidden")
		a := anonymous(t, env, http.MethodGet, "/products?sort=name", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Contains(t, string(a.body), `"totalElements":3`)
		assert.Equal(t, []string{"Alpha", "bravo", "Charlie", "Delta", "Echo"}, names(admin, "sort=name&size=100"), "admins see every status; names sort ignoring case")
		assert.Equal(t, []string{"Echo", "bravo", "Alpha", "Charlie", "Delta"}, names(admin, "sort=price"))
		assert.Equal(t, []string{"Delta", "Charlie", "Alpha", "bravo", "Echo"}, names(admin, "sort=-price"))
		assert.Equal(t, []string{"Alpha", "bravo"}, names(shopper, "categoryId="+audio+"&sort=name"))
		assert.Equal(t, []string{"Alpha", "bravo"}, names(shopper, "brand=SONY&sort=name"), "brand ignores case")
		assert.Equal(t, []string{"Alpha", "Charlie"}, names(admin, "minPrice=10&maxPrice=10.01&sort=name"), "bounds are inclusive and exact")
		assert.Equal(t, []string{"Charlie"}, names(admin, "status=INACTIVE"))
		assert.Empty(t, names(shopper, "status=INACTIVE"), "a status shoppers are not shown gives nothing")
		assert.Equal(t, []string{"bravo"}, names(shopper, "status=OUT_OF_STOCK"))
	})

	t.Run("keyset pages cover everything once, stable under concurrent inserts", func(t *testing.T) {
		for i := range 12 {
			newProduct(fmt.Sprintf("Item %02d", i), "Acme", audio, fmt.Sprintf("%d.50", i%4), "ACTIVE")
		}
		want := names(admin, "sort=price&size=100")
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 20, "the pages end")
			query := "sort=price&limit=4"
			if cursor != "" {
				query += "&cursor=" + cursor
			}
			a := admin.call(http.MethodGet, "/products?"+query, nil)
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			page := decode[productPage](t, a)
			for _, it := range page.Items {
				got = append(got, it.Name)
			}
			// Another admin adds a product in the middle of the order
			// while this one pages.
			newProduct(fmt.Sprintf("Late %d", pages), "Acme", audio, "1.50", "ACTIVE")
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		seen := map[string]int{}
		for _, n := range got {
			seen[n]++
		}
		for _, n := range want {
			assert.Equal(t, 1, seen[n], "%s appears exactly once", n)
		}
		for n, count := range seen {
			assert.Equal(t, 1, count, "%s is not repeated", n)
		}
	})

	t.Run("bad parameters are a 400 naming them", func(t *testing.T) {
		for query, field := range map[string]string{
			"limit=0": "limit", "limit=101": "limit", "limit=x": "limit", "cursor=garbage": "cursor",
			"sort=bogus": "sort", "minPrice=-1": "minPrice", "maxPrice=1e3": "maxPrice", "page=1&limit=5": "cursor",
			"status=GONE": "status", "categoryId=7": "categoryId", "size=101": "size", "page=-1": "page",
		} {
			a := anonymous(t, env, http.MethodGet, "/products?"+query, "")
			assert.Equal(t, http.StatusBadRequest, a.status, query)
			assert.Equal(t, "VALIDATION_FAILED", a.errorCode(t), query)
			assert.Contains(t, string(a.body), fmt.Sprintf("%q", field), query)
		}
		a := admin.call(http.MethodGet, "/products?sort=price&limit=2", nil)
		cursor := *decode[productPage](t, a).NextCursor
		a = anonymous(t, env, http.MethodGet, "/products?sort=name&cursor="+cursor, "")
		assert.Equal(t, http.StatusBadRequest, a.status, "a cursor belongs to its sort")
	})
}

func TestProductSearch(t *testing.T) {
	env := adminEnv(t, "product")
	admin, audio := catalogAdmin(t, env)
	newProduct := func(name, brand, description, status string) product {
		a := admin.call(http.MethodPost, "/products", fmt.Sprintf(`{"name":%q,"brand":%q,"description":%q,"categoryId":%q,"price":1,"currency":"USD","status":%q}`,
			name, brand, description, audio, status))
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		return decode[product](t, a)
	}
	// The description match is older, so only ranking puts the name match first.
	newProduct("Speaker", "Sony", "Pairs with headphones", "ACTIVE")
	newProduct("Wireless Headphones", "Sony", "Noise cancelling", "ACTIVE")
	newProduct("Headphone stand", "Acme", "", "INACTIVE")
	cable := newProduct("Cable", "Acme", "", "ACTIVE")
	require.Equal(t, http.StatusCreated, admin.call(http.MethodPost, "/products/"+cable.ID+"/variants", `{"sku":"CBL-USBC-2M"}`).status)
	gone := newProduct("Headphones Old", "Sony", "", "ACTIVE")
	require.Equal(t, http.StatusOK, admin.call(http.MethodDelete, "/products/"+gone.ID, nil).status)

	search := func(query string) []string {
		t.Helper()
		a := anonymous(t, env, http.MethodGet, "/products/search?query="+query, "")
		require.Equal(t, http.StatusOK, a.status, "%s: %s", query, a.body)
		var out []string
		for _, p := range decode[struct{ Content []product }](t, a).Content {
			out = append(out, p.Name)
		}
		return out
	}
	assert.Equal(t, []string{"Wireless Headphones", "Speaker"}, search("head"), "a prefix matches; a name match ranks above a description match; hidden and deleted products never")
	assert.Equal(t, []string{"Wireless Headphones"}, search("SONY%20wire"), "every word must match")
	assert.Equal(t, []string{"Wireless Headphones", "Speaker"}, search("head%20sony"), "no whole-word match: every word is a prefix")
	var broad []string
	for _, p := range searchPages(t, env, "head%20sony", 1, nil) {
		broad = append(broad, p.Name)
	}
	assert.Equal(t, []string{"Wireless Headphones", "Speaker"}, broad, "a broadened search's cursor keeps it broad")
	assert.Equal(t, []string{"Cable"}, search("cbl-usbc"), "variant SKUs are searched")
	assert.Empty(t, search("%27%3B%20DROP%20TABLE%20state%3B%20--%20%26%20%7C%20!"), "no client text is tsquery syntax")
	a := admin.call(http.MethodGet, "/products/search?query=stand", nil)
	assert.Contains(t, string(a.body), "Headphone stand", "admins find every status")
	for _, query := range []string{"", "%20%20", "!!!"} {
		a := anonymous(t, env, http.MethodGet, "/products/search?query="+query, "")
		assert.Equal(t, http.StatusBadRequest, a.status, query)
		assert.Contains(t, string(a.body), "Query parameter must not be empty", query)
	}
	assert.Equal(t, http.StatusBadRequest, anonymous(t, env, http.MethodGet, "/products/search?query=a&size=0", "").status)

	t.Run("with a cursor: the same order, one page at a time, stable while products are added", func(t *testing.T) {
		for i := range 5 {
			newProduct(fmt.Sprintf("Headphones %d", i), "Sony", "", "ACTIVE")
		}
		a := anonymous(t, env, http.MethodGet, "/products/search?query=head&size=100", "")
		var want []string
		for _, p := range decode[struct{ Content []product }](t, a).Content {
			want = append(want, p.ID)
		}
		require.Len(t, want, 7)
		var got []string
		added := func() {
			newProduct("Headphones late", "Sony", "Pairs with headphones", "ACTIVE") // ranks last: after every page already read
		}
		for _, p := range searchPages(t, env, "head", 2, added) {
			got = append(got, p.ID)
		}
		assert.Equal(t, want, got[:len(want)], "best first, no repeats, none skipped")
		for _, bad := range []string{"&cursor=nope", "&cursor=" + listCursor(t, env), "&limit=101", "&limit=2&page=1"} {
			assert.Equal(t, http.StatusBadRequest, anonymous(t, env, http.MethodGet, "/products/search?query=head"+bad, "").status, bad)
		}
	})
}

// searchPages is every product a search (query, URL-encoded) gives,
// limit a page, following its cursors to the end; afterFirst, if set, runs
// once the first page is read.
func searchPages(t *testing.T, env *testenv.Env, query string, limit int, afterFirst func()) []product {
	t.Helper()
	var out []product
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "the cursor ends")
		a := anonymous(t, env, http.MethodGet, fmt.Sprintf("/products/search?query=%s&limit=%d%s", query, limit, cursor), "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		page := decode[struct {
			Items      []product
			NextCursor *string
		}](t, a)
		out = append(out, page.Items...)
		if pages == 0 && afterFirst != nil {
			afterFirst()
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + *page.NextCursor
	}
}

// listCursor is a cursor the listing gave: not one a search accepts.
func listCursor(t *testing.T, env *testenv.Env) string {
	t.Helper()
	a := anonymous(t, env, http.MethodGet, "/products?limit=1", "")
	require.Equal(t, http.StatusOK, a.status)
	next := decode[struct{ NextCursor *string }](t, a).NextCursor
	require.NotNil(t, next)
	return *next
}

// Catalog writes past a replica's bound are shed with 503 SERVICE_BUSY and
// Retry-After before any work is done, instead of piling up in the sidecar
// (where sixteen writers at once once made every write time out:
// docs/events.md). What was acknowledged exists; what was shed does not.
func TestProductWritesShedPastTheirBound(t *testing.T) {
	env := adminEnv(t, "product", testenv.WithEnv("product", "PRODUCT_WRITE_CONCURRENCY=1", "PRODUCT_WRITE_QUEUE=0"))
	admin, audio := catalogAdmin(t, env)
	const n = 16
	answers := concurrently(t, n, func(i int) (answer, error) {
		return admin.send(http.MethodPost, "/products",
			fmt.Sprintf(`{"name":"Rush %d","brand":"Acme","categoryId":%q,"price":1,"currency":"USD","status":"ACTIVE"}`, i, audio), nil)
	})
	counts := statusCounts(answers)
	t.Logf("%d creates at once, one write slot, no queue: %v", n, counts)
	assert.Equal(t, n, counts[http.StatusCreated]+counts[http.StatusServiceUnavailable], "created or shed, nothing else")
	assert.NotZero(t, counts[http.StatusCreated], "the slot's holder is served")
	assert.NotZero(t, counts[http.StatusServiceUnavailable], "the rest are shed at once")
	for i, a := range answers {
		switch a.status {
		case http.StatusCreated:
			p := decode[product](t, a)
			assert.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/products/"+p.ID, nil).status, "acknowledged create %d exists", i)
		case http.StatusServiceUnavailable:
			assert.Equal(t, "SERVICE_BUSY", decode[struct{ Error struct{ Code string } }](t, a).Error.Code)
			assert.Equal(t, "1", a.header.Get("Retry-After"))
		}
	}
	a := admin.call(http.MethodGet, "/products?categoryId="+audio+"&page=0&size=100", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, counts[http.StatusCreated], decode[struct{ TotalElements int }](t, a).TotalElements, "no shed write left a product behind")

	// Reads are never gated, and the slot is free again once the burst is over.
	a = admin.call(http.MethodPost, "/products", fmt.Sprintf(`{"name":"Calm","brand":"Acme","categoryId":%q,"price":1,"currency":"USD","status":"ACTIVE"}`, audio))
	assert.Equal(t, http.StatusCreated, a.status, "%s", a.body)
}

// Writes are refused while the event relay lags behind them, and accepted
// again once it has caught up: a write's answer does not wait for its
// event, so an importer that is never refused could build a backlog that
// delays every event (docs/events.md). Here the relay publishes one event
// a second, the writes come at about ten a second, and the oldest pending
// event may be 1.5 s old.
func TestProductWritesWaitForTheirRelay(t *testing.T) {
	env := adminEnv(t, "product", testenv.WithEnv("product",
		"PRODUCT_EVENT_POLL_INTERVAL=1s", "PRODUCT_EVENT_BATCH=1", "PRODUCT_RELAY_LAG_LIMIT=1500ms"))
	admin, audio := catalogAdmin(t, env)
	create := func(i int) answer {
		return admin.call(http.MethodPost, "/products",
			fmt.Sprintf(`{"name":"Paced %d","brand":"Acme","categoryId":%q,"price":1,"currency":"USD","status":"ACTIVE"}`, i, audio))
	}
	var created, shed int
	until := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for i := created + shed; time.Now().Before(deadline); i++ {
			a := create(i)
			switch a.status {
			case http.StatusCreated:
				created++
			case http.StatusServiceUnavailable:
				shed++
				assert.Equal(t, "SERVICE_BUSY", decode[struct{ Error struct{ Code string } }](t, a).Error.Code)
				assert.Equal(t, "1", a.header.Get("Retry-After"))
			default:
				t.Fatalf("create %d: %d %s", i, a.status, a.body)
			}
			if a.status == want {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: no %d in 60 s (%d created, %d shed)", what, want, created, shed)
	}
	until(http.StatusCreated, "the first write")
	started := time.Now()
	until(http.StatusServiceUnavailable, "writes refused once the relay reports its lag")
	t.Logf("refused %s after the first write", time.Since(started).Round(time.Millisecond))
	until(http.StatusCreated, "writes accepted again once the relay caught up")
	t.Logf("%d created, %d refused", created, shed)

	a := admin.call(http.MethodGet, "/products?categoryId="+audio+"&page=0&size=100", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, created, decode[struct{ TotalElements int }](t, a).TotalElements, "what was acknowledged exists; nothing refused does")
}
