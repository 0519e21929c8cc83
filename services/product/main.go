// Command product is QeetMart's product service; it runs behind its own Dapr sidecar.
package main

import "github.com/qeetmart/qeetmart/internal/platform/service"

func main() {
	service.Main(service.Spec{
		Name:        "product",
		DefaultPort: 4003,
		Stores:      []string{"product-store"},
	})
}
