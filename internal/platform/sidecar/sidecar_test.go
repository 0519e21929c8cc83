package sidecar

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// daprd decodes the method once and calls the app with the result as its
// raw path: what InvokeURL sends decodes to exactly the path given.
func TestInvokeURLSurvivesDaprdsDecode(t *testing.T) {
	tests := []struct{ app, method, want string }{
		{"auth", "ready", "/v1.0/invoke/auth/method/ready"},
		{"auth", ".well-known/jwks.json", "/v1.0/invoke/auth/method/.well-known/jwks.json"},
		{"product", "/products/5", "/v1.0/invoke/product/method/products/5"},
		{"product", "products/caf%C3%A9", "/v1.0/invoke/product/method/products/caf%25C3%25A9"},
		{"product", "products/100%25", "/v1.0/invoke/product/method/products/100%2525"},
		{"product", "products/a%3Fb", "/v1.0/invoke/product/method/products/a%253Fb"},
		{"product", "products/", "/v1.0/invoke/product/method/products/"},
		{"product.default", "products", "/v1.0/invoke/product.default/method/products"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, InvokeURL(tt.app, tt.method), tt.method)
	}
}
