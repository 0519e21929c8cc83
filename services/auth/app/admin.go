package app

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// Page is one page of a list, in the platform's paged shape.
type Page[T any] struct {
	Content       []T  `json:"content"`
	Page          int  `json:"page"` // 0-based
	Size          int  `json:"size"`
	TotalElements int  `json:"totalElements"`
	TotalPages    int  `json:"totalPages"`
	Last          bool `json:"last"`
}

// Bounds of a page request: size, and page number (so that page×size
// cannot overflow into a nonsense offset).
const (
	MaxPageSize = 100
	MaxPage     = 1_000_000
)

// requireAdmin checks the stored account, not the token's role claim: a
// demoted or disabled admin's last access token must not keep the power.
func (a *Auth) requireAdmin(ctx context.Context, c Caller) error {
	u, _, found, err := a.Store.User(ctx, c.UserID)
	if err != nil {
		return err
	}
	if !found || u.Disabled || u.Role != domain.RoleAdmin {
		return ErrForbidden
	}
	return nil
}

// Users lists accounts in creation order.
func (a *Auth) Users(ctx context.Context, c Caller, page, size int) (Page[domain.User], error) {
	fields := FieldErrors{}
	if page < 0 || page > MaxPage {
		fields["page"] = "page must be between 0 and 1000000"
	}
	if size < 1 || size > MaxPageSize {
		fields["size"] = "size must be between 1 and 100"
	}
	if len(fields) > 0 {
		return Page[domain.User]{}, fields
	}
	if err := a.requireAdmin(ctx, c); err != nil {
		return Page[domain.User]{}, err
	}
	users, total, err := a.Store.Users(ctx, page*size, size)
	if err != nil {
		return Page[domain.User]{}, err
	}
	pages := (total + size - 1) / size
	return Page[domain.User]{Content: users, Page: page, Size: size, TotalElements: total, TotalPages: pages, Last: page >= pages-1}, nil
}

// SetRole changes an account's role. The account's sessions end, so no
// token carries the old role.
func (a *Auth) SetRole(ctx context.Context, c Caller, id, role string) (domain.User, error) {
	if role != domain.RoleUser && role != domain.RoleAdmin {
		return domain.User{}, FieldErrors{"role": "role must be USER or ADMIN"}
	}
	return a.changeUser(ctx, c, id, func(u *domain.User) bool {
		u.Role = role
		return true
	})
}

// SetDisabled disables or enables an account. Disabling ends its sessions.
func (a *Auth) SetDisabled(ctx context.Context, c Caller, id string, disabled bool) (domain.User, error) {
	return a.changeUser(ctx, c, id, func(u *domain.User) bool {
		u.Disabled = disabled
		return disabled
	})
}

// changeUser applies change to account id as admin c. A change that changes
// nothing is a no-op; admins may not change their own account (so the last
// admin cannot lock everyone out). When change says so, every session of
// the account ends in the same transaction.
func (a *Auth) changeUser(ctx context.Context, c Caller, id string, change func(*domain.User) (revoke bool)) (domain.User, error) {
	if err := a.requireAdmin(ctx, c); err != nil {
		return domain.User{}, err
	}
	if !domain.ValidID(id) {
		return domain.User{}, ErrUserNotFound
	}
	u, etag, found, err := a.Store.User(ctx, id)
	if err != nil {
		return u, err
	}
	if !found {
		return u, ErrUserNotFound
	}
	before := u
	revoke := change(&u)
	if u == before {
		return u, nil
	}
	if id == c.UserID {
		return before, ErrOwnAccount
	}
	u.UpdatedAt = a.Now().UTC()
	if !revoke {
		return u, a.Store.SaveUser(ctx, u, etag)
	}
	ids, err := a.sessionIDs(ctx, id, "")
	if err != nil {
		return u, err
	}
	return u, a.Store.Revoke(ctx, a.revocation(ids, id), &u, etag)
}

// RotateKeys adds a signing key, published now and signing after
// KeyActivationDelay; the old public keys stay published until the tokens
// they signed have expired.
func (a *Auth) RotateKeys(ctx context.Context, c Caller) (domain.SigningKey, error) {
	if err := a.requireAdmin(ctx, c); err != nil {
		return domain.SigningKey{}, err
	}
	ring, etag, err := a.Store.KeyRing(ctx)
	if err != nil {
		return domain.SigningKey{}, err
	}
	key, err := ring.Rotate(a.Now().UTC(), a.KeyActivationDelay)
	if err != nil {
		return domain.SigningKey{}, err
	}
	ring.Prune(a.Now(), max(a.Tokens.AccessTTL, a.Tokens.RefreshTTL)+authtoken.MaxLeeway)
	if err := a.Store.SaveKeyRing(ctx, ring, etag); err != nil {
		return domain.SigningKey{}, err // ErrConflict: a concurrent rotation won
	}
	a.forgetKeys()
	return key, nil
}
