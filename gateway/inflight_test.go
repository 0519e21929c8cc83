package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/qeetmart/qeetmart/internal/platform/admission"
)

// How an adaptive bound falls to its floor is admission's
// (TestAdaptiveFallsAtOnceFromItsMaximum); here, that each app's bound
// gets the floor configured.
func TestAnAdaptiveBoundTakesTheConfiguredFloor(t *testing.T) {
	assert.Equal(t, admission.AdaptiveOptions{Initial: 512, Min: 4, Max: 512}, boundOptions(512, 4, true), "adaptive: from the bound down to the floor")
	assert.Equal(t, admission.AdaptiveOptions{Initial: 8, Min: 8, Max: 8}, boundOptions(8, 16, true), "a bound below the floor stays where it is")
	assert.Equal(t, admission.AdaptiveOptions{Initial: 512, Min: 512, Max: 512}, boundOptions(512, 4, false), "fixed")

	// Every app's bound starts at the one configured, adaptive or not.
	f := newInFlight([]string{"product", "inventory"}, 0, 512, []string{"product"}, 4)
	assert.Equal(t, 512, f.byApp["product"].Limit(), "it starts at the bound")
	assert.Equal(t, 512, f.byApp["inventory"].Limit())
}
