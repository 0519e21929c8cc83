// Command user is QeetMart's user service; it runs behind its own Dapr sidecar.
package main

import "github.com/qeetmart/qeetmart/internal/platform/service"

func main() {
	service.Main(service.Spec{
		Name:        "user",
		DefaultPort: 4002,
		Stores:      []string{"user-store"},
	})
}
