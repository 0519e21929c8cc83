package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// EntityTags reads an If-Match or If-None-Match header: its entity tags
// without quotes, "*" as itself. A weak tag keeps its "W/" prefix; a
// malformed one becomes a tag nothing matches (it still names a version,
// so it must not be ignored). An absent header gives nil.
func EntityTags(header string) []string {
	header = strings.TrimSpace(header)
	if header == "" {
		return nil
	}
	var tags []string
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		weak := strings.HasPrefix(tag, "W/")
		quoted := strings.TrimPrefix(tag, "W/")
		switch {
		case tag == "*":
			tags = append(tags, "*")
		case len(quoted) >= 2 && quoted[0] == '"' && quoted[len(quoted)-1] == '"':
			if weak {
				tags = append(tags, "W/"+quoted[1:len(quoted)-1])
			} else {
				tags = append(tags, quoted[1:len(quoted)-1])
			}
		default:
			tags = append(tags, "\x00unmatchable")
		}
	}
	return tags
}

// Cacheable answers a GET that succeeds with a strong ETag over its body
// and the Cache-Control that policy gives for the request, and turns it
// into a bodiless 304 when If-None-Match names that tag (compared weakly,
// RFC 9110 §13.1.2). The tag is a digest of the representation, so two
// replicas answer the same bytes with the same tag and a client's tag
// stays valid across them.
func Cacheable(policy func(fiber.Ctx) string) fiber.Handler {
	return func(c fiber.Ctx) error {
		if err := c.Next(); err != nil {
			return err
		}
		resp := c.Response()
		if resp.StatusCode() != http.StatusOK {
			return nil
		}
		sum := sha256.Sum256(resp.Body())
		tag := base64.RawURLEncoding.EncodeToString(sum[:18])
		c.Set(fiber.HeaderETag, `"`+tag+`"`)
		c.Set(fiber.HeaderCacheControl, policy(c))
		c.Append(fiber.HeaderVary, fiber.HeaderAuthorization)
		for _, t := range EntityTags(c.Get(fiber.HeaderIfNoneMatch)) {
			if t == "*" || strings.TrimPrefix(t, "W/") == tag {
				resp.ResetBody()
				c.Status(http.StatusNotModified)
				return nil
			}
		}
		return nil
	}
}
