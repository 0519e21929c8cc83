// Package contract checks live HTTP exchanges against the OpenAPI files in
// contracts/openapi, so a test fails when code and contract drift apart.
package contract

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi/datamodel"
)

// Contract is one program's OpenAPI document, ready to validate against.
type Contract struct {
	name string
	v    validator.Validator
}

// Load reads contracts/openapi/<name>.yaml under root, with its relative
// references (common.yaml) resolved, and checks the document itself.
func Load(root, name string) (*Contract, error) {
	dir := filepath.Join(root, "contracts", "openapi")
	spec, err := os.ReadFile(filepath.Join(dir, name+".yaml"))
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocumentWithConfiguration(spec, &datamodel.DocumentConfiguration{
		BasePath:            dir,
		AllowFileReferences: true,
	})
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", name, err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("contract %s: %v", name, errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("contract %s is not valid OpenAPI: %s", name, describe(verrs))
	}
	return &Contract{name: name, v: v}, nil
}

// Check fails t unless resp (to req) is one the contract describes: a known
// path and method, a declared status, and a body matching its schema. The
// response body stays readable for the caller.
func (c *Contract) Check(t testing.TB, req *http.Request, resp *http.Response) {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("read body: %v", err) // Errorf, not Fatalf: Check may run in a goroutine
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	check := *resp
	check.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := c.v.ValidateHttpResponse(req, &check); !ok {
		t.Errorf("%s %s -> %d breaks contracts/openapi/%s.yaml: %s\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, c.name, describe(errs), body)
	}
}

func describe[E interface{ Error() string }](errs []E) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}
