package domain

import (
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
)

// Roles (the token's role claim).
const (
	RoleUser  = authtoken.RoleUser
	RoleAdmin = authtoken.RoleAdmin
)

// User is an account.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"passwordHash"`
	Role         string    `json:"role"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}
