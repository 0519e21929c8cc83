package contract

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"

	"github.com/qeetmart/qeetmart/internal/platform/service"
)

// Operations lists the operations contracts/openapi/<name>.yaml under root
// documents, each as "METHOD /path/{param}", sorted.
func Operations(root, name string) ([]string, error) {
	dir := filepath.Join(root, "contracts", "openapi")
	spec, err := os.ReadFile(filepath.Join(dir, name+".yaml"))
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocumentWithConfiguration(spec, &datamodel.DocumentConfiguration{
		BasePath: dir, AllowFileReferences: true,
	})
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", name, err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", name, err)
	}
	var ops []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().KeysFromOldest() {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	return ops, nil
}

var param = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// Registered lists the routes app serves in the contract's spelling ("GET
// /products/{id}" for "/products/:id"), sorted, without the HEAD the
// router adds by itself for every GET.
func Registered(app *fiber.App) []string {
	var ops []string
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead {
			continue
		}
		ops = append(ops, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(ops)
	return slices.Compact(ops)
}

// RequireServiceServedAsDocumented is RequireServedAsDocumented for a
// service: what every service serves (service.Probes) plus what register
// adds, against contracts/openapi/<name>.yaml under root.
func RequireServiceServedAsDocumented(t testing.TB, root, name string, register func(fiber.Router)) {
	t.Helper()
	app := fiber.New()
	service.Probes(app, name, time.Second)
	register(app)
	RequireServedAsDocumented(t, root, name, app)
}

// RequireServedAsDocumented fails t unless app serves exactly the
// operations contracts/openapi/<name>.yaml under root documents: no route
// the contract does not show, no documented operation that is not served.
func RequireServedAsDocumented(t testing.TB, root, name string, app *fiber.App) {
	t.Helper()
	documented, err := Operations(root, name)
	if err != nil {
		t.Fatal(err)
	}
	served := Registered(app)
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("%s serves %s, which contracts/openapi/%s.yaml does not document", name, op, name)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("contracts/openapi/%s.yaml documents %s, which %s does not serve", name, op, name)
		}
	}
}
