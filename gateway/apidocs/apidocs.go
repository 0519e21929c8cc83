// Package apidocs serves the public API's contracts and a page to read and
// try them: Swagger UI, embedded in the binary (no CDN: the page works
// offline), at /docs. Each service's contract is rendered for the public
// from contracts/openapi and the gateway's route table (publicContract),
// so the page shows exactly what the gateway routes and calls it through
// the gateway.
package apidocs

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/qeetmart/qeetmart/contracts/openapi"
	"github.com/qeetmart/qeetmart/gateway/routing"
)

// Base is where the page is served.
const Base = "/docs"

// Docs is the rendered contracts and the page.
type Docs struct {
	specs map[string][]byte // by file name: <program>.yaml, common.yaml
	ui    fiber.Handler
}

// New renders the contracts of every app in table, and the gateway's own.
func New(table []routing.Route) (*Docs, error) {
	d := &Docs{specs: map[string][]byte{}}
	var apps []string
	for _, r := range table {
		if !slices.Contains(apps, r.App) {
			apps = append(apps, r.App)
		}
	}
	type entry struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	}
	var urls []entry
	for _, app := range apps {
		spec, err := fs.ReadFile(openapi.Files, app+".yaml")
		if err != nil {
			return nil, fmt.Errorf("docs: %w", err)
		}
		if d.specs[app+".yaml"], err = publicContract(spec, app, table); err != nil {
			return nil, fmt.Errorf("docs: %s: %w", app, err)
		}
		urls = append(urls, entry{URL: Base + "/openapi/" + app + ".yaml", Name: app})
	}
	gateway, err := fs.ReadFile(openapi.Files, "gateway.yaml")
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	if d.specs["gateway.yaml"], err = publicGateway(gateway); err != nil {
		return nil, fmt.Errorf("docs: gateway: %w", err)
	}
	common, err := fs.ReadFile(openapi.Files, "common.yaml")
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	if d.specs["common.yaml"], err = publicCommon(common); err != nil {
		return nil, fmt.Errorf("docs: common: %w", err)
	}
	urls = append(urls, entry{URL: Base + "/openapi/gateway.yaml", Name: "gateway"})
	list, err := json.Marshal(urls)
	if err != nil {
		return nil, err
	}
	d.ui = adaptor.HTTPHandler(v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "QeetMart API",
		SwaggerJSON: urls[0].URL,
		BasePath:    Base + "/",
		ShowTopBar:  true, // the contract picker
		SettingsUI: map[string]string{
			"urls":                 string(list),
			`"urls.primaryName"`:   `"` + urls[0].Name + `"`, // quoted: the key becomes JavaScript as written
			"persistAuthorization": "false",
			"tryItOutEnabled":      "true",
		},
	}))
	return d, nil
}

// csp lets the page run: Swagger UI's own scripts and styles (some inline),
// and calls to this origin only.
const csp = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Register serves the page and the contracts under Base on r, each request
// through limit first (the page is public).
func (d *Docs) Register(r fiber.Router, limit fiber.Handler) {
	page := func(c fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return d.ui(c)
	}
	r.Get(Base+"/openapi/:file", limit, d.contract)
	r.Get(Base, limit, page)
	r.Get(Base+"/*", limit, page)
}

func (d *Docs) contract(c fiber.Ctx) error {
	spec, ok := d.specs[c.Params("file")]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, "application/yaml")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(spec)
}
