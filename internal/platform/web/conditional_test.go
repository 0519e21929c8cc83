package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntityTags(t *testing.T) {
	assert.Nil(t, EntityTags("  "))
	assert.Equal(t, []string{"a", "W/b", "*"}, EntityTags(`"a", W/"b" ,*`))
	assert.Equal(t, []string{"\x00unmatchable"}, EntityTags(`a`), "a malformed tag matches nothing, and is not ignored")
}

func TestCacheable(t *testing.T) {
	body := "catalog"
	app := fiber.New()
	app.Get("/x", Cacheable(func(fiber.Ctx) string { return "public, max-age=5" }), func(c fiber.Ctx) error { return c.SendString(body) })
	app.Get("/missing", Cacheable(func(fiber.Ctx) string { return "public" }), func(c fiber.Ctx) error { return c.SendStatus(http.StatusNotFound) })
	get := func(path, ifNoneMatch string) (*http.Response, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := app.Test(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(raw)
	}

	first, got := get("/x", "")
	assert.Equal(t, http.StatusOK, first.StatusCode)
	assert.Equal(t, body, got)
	tag := first.Header.Get("ETag")
	assert.Regexp(t, `^"[A-Za-z0-9_-]{24}"$`, tag)
	assert.Equal(t, "public, max-age=5", first.Header.Get("Cache-Control"))
	assert.Equal(t, "Authorization", first.Header.Get("Vary"))

	for _, match := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		resp, got := get("/x", match)
		assert.Equal(t, http.StatusNotModified, resp.StatusCode, match)
		assert.Empty(t, got)
		assert.Equal(t, tag, resp.Header.Get("ETag"), "a 304 names the tag it confirms")
	}
	resp, got := get("/x", `"stale"`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, body, got)

	body = "catalog, changed"
	resp, _ = get("/x", tag)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a changed body is a new tag")
	assert.NotEqual(t, tag, resp.Header.Get("ETag"))

	resp, _ = get("/missing", "*")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("ETag"), "only successes are tagged")
}
