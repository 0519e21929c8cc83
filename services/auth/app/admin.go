package app

import (
	"context"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/auth/domain"
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
func (a *Auth) Users(ctx context.Context, c Caller, page paging.Request) (paging.Page[domain.User], error) {
	if err := a.requireAdmin(ctx, c); err != nil {
		return paging.Page[domain.User]{}, err
	}
	users, total, err := a.Store.Users(ctx, page.Offset(), page.Size)
	if err != nil {
		return paging.Page[domain.User]{}, err
	}
	return paging.Of(page, users, total), nil
}

// SetRole changes an account's role. The account's sessions end, so no
// token carries the old role.
func (a *Auth) SetRole(ctx context.Context, c Caller, id, role string) (domain.User, error) {
	if role != domain.RoleUser && role != domain.RoleAdmin {
		return domain.User{}, validation.Errors{"role": "role must be USER or ADMIN"}
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
	if !ids.Valid(id) {
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
