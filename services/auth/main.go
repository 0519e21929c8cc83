// Command auth is QeetMart's auth service; it runs behind its own Dapr sidecar.
package main

import "github.com/qeetmart/qeetmart/internal/platform/service"

func main() {
	service.Main(service.Spec{
		Name:        "auth",
		DefaultPort: 4001,
		Stores:      []string{"auth-store"},
	})
}
