// Package ids makes and checks the platform's identifiers: UUIDv7, so they
// sort by creation and are not a guessable sequence.
package ids

import (
	"fmt"

	"github.com/google/uuid"
)

// New is a new time-ordered id.
func New() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// Valid reports whether id is an id the platform makes (a UUID in its
// canonical form): anything else names nothing, and never reaches a store.
func Valid(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}
