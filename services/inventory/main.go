// Command inventory is QeetMart's inventory service; it runs behind its own Dapr sidecar.
package main

import "github.com/qeetmart/qeetmart/internal/platform/service"

func main() {
	service.Main(service.Spec{
		Name:        "inventory",
		DefaultPort: 4004,
		Stores:      []string{"inventory-store", "inventory-cache"},
	})
}
