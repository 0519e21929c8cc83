// Package app is the user service's use cases: profiles, their addresses
// and the admin listing. It holds the rules' order (who may, then what is
// valid, then what is stored) and talks to storage through Store.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/user/domain"
)

// Errors the API maps to statuses.
var (
	ErrForbidden       = errors.New("not the owner or an admin")
	ErrProfileNotFound = errors.New("profile not found")
	ErrProfileExists   = errors.New("profile already exists")
	ErrEmailTaken      = errors.New("email used by another profile")
	ErrEmailMismatch   = errors.New("email differs from the token's")
	ErrStale           = errors.New("the profile changed since the version the client named")
	ErrConflict        = errors.New("concurrent update")
)

// RoleAdmin is the role that may act on everything (the token's role).
const RoleAdmin = authtoken.RoleAdmin

// Caller is who the gateway verified the request came from.
type Caller struct {
	UserID, Role, Email string
}

func (c Caller) admin() bool { return c.Role == RoleAdmin }

// Store is what the use cases need from storage. Writes fail with
// ErrConflict when they lose a race: the profile is no longer at etag, or an
// email (or, on create, the profile) is already taken.
type Store interface {
	Profile(ctx context.Context, id string) (p domain.Profile, etag string, found bool, err error)
	EmailOwner(ctx context.Context, email string) (userID string, found bool, err error)
	CreateProfile(ctx context.Context, p domain.Profile) error
	// SaveProfile writes p over the version at etag; when p's email is not
	// previousEmail, the email moves with it.
	SaveProfile(ctx context.Context, p domain.Profile, etag, previousEmail string) error
	DeleteProfile(ctx context.Context, p domain.Profile, etag string) error
	Profiles(ctx context.Context, q ListQuery) ([]domain.Profile, int, error)
}

// Precondition is the entity tags of an If-Match header; empty means none.
// "*" matches any version.
type Precondition []string

func (p Precondition) allows(etag string) bool {
	return len(p) == 0 || slices.Contains(p, "*") || slices.Contains(p, etag)
}

// maxAttempts bounds how often a write without If-Match re-reads and
// re-applies itself after losing a race to another replica.
const maxAttempts = 8

// Users runs the use cases.
type Users struct {
	Store Store
	Now   func() time.Time
	NewID func() (string, error)
	queue *serial
}

// New wires Users.
func New(store Store) *Users {
	return &Users{Store: store, Now: time.Now, NewID: ids.New, queue: newSerial()}
}

func (u *Users) now() time.Time { return u.Now().UTC().Truncate(time.Microsecond) }

// authorize lets the owner and admins act on profile id, and nobody else:
// checked before anything is read, so a stranger cannot tell which ids
// exist.
func authorize(c Caller, id string) error {
	if !c.admin() && id != c.UserID {
		return ErrForbidden
	}
	if !ids.Valid(id) {
		return validation.Errors{"userId": "userId must be a user id (a UUID)"}
	}
	return nil
}

// checkEmail applies the email rule: a user's profile carries the email of
// their account; only an admin may set another.
func checkEmail(c Caller, d domain.Details) error {
	if !c.admin() && d.Email != validation.NormalizeEmail(c.Email) {
		return ErrEmailMismatch
	}
	return nil
}

// Create makes the caller's own profile.
func (u *Users) Create(ctx context.Context, c Caller, d domain.Details) (domain.Profile, error) {
	if err := authorize(c, c.UserID); err != nil {
		return domain.Profile{}, err
	}
	if err := d.Check(); err != nil {
		return domain.Profile{}, err
	}
	if err := checkEmail(c, d); err != nil {
		return domain.Profile{}, err
	}
	release, err := u.queue.enter(ctx, c.UserID)
	if err != nil {
		return domain.Profile{}, err
	}
	defer release()
	now := u.now()
	p := domain.Profile{ID: c.UserID, CreatedAt: now, Addresses: []domain.Address{}}
	p.Apply(d, now)
	for range maxAttempts {
		err := u.Store.CreateProfile(ctx, p)
		if !errors.Is(err, ErrConflict) {
			return p, err
		}
		// The profile or the email is taken; say which. If neither is any
		// more (a delete won in between), try again.
		if _, _, found, err := u.Store.Profile(ctx, p.ID); err != nil || found {
			return domain.Profile{}, cmp.Or(err, ErrProfileExists)
		}
		if owner, found, err := u.Store.EmailOwner(ctx, p.Email); err != nil || (found && owner != p.ID) {
			return domain.Profile{}, cmp.Or(err, ErrEmailTaken)
		}
	}
	return domain.Profile{}, ErrConflict
}

// Get reads profile id and its version.
func (u *Users) Get(ctx context.Context, c Caller, id string) (domain.Profile, string, error) {
	if err := authorize(c, id); err != nil {
		return domain.Profile{}, "", err
	}
	p, etag, found, err := u.Store.Profile(ctx, id)
	if err != nil {
		return domain.Profile{}, "", err
	}
	if !found {
		return domain.Profile{}, "", ErrProfileNotFound
	}
	return p, etag, nil
}

// Replace sets every field of profile id.
func (u *Users) Replace(ctx context.Context, c Caller, id string, d domain.Details, pre Precondition) (domain.Profile, error) {
	if err := authorize(c, id); err != nil {
		return domain.Profile{}, err
	}
	if err := d.Check(); err != nil {
		return domain.Profile{}, err
	}
	if err := checkEmail(c, d); err != nil {
		return domain.Profile{}, err
	}
	return u.change(ctx, id, pre, func(p *domain.Profile, now time.Time) error {
		if d.Email != p.Email {
			owner, found, err := u.Store.EmailOwner(ctx, d.Email)
			if err != nil {
				return err
			}
			if found && owner != p.ID {
				return ErrEmailTaken
			}
		}
		p.Apply(d, now)
		return nil
	})
}

// Delete removes profile id and its addresses.
func (u *Users) Delete(ctx context.Context, c Caller, id string, pre Precondition) error {
	if err := authorize(c, id); err != nil {
		return err
	}
	return u.write(ctx, id, pre, func(p domain.Profile, etag string) error {
		return u.Store.DeleteProfile(ctx, p, etag)
	})
}

// change applies fn to the current version of profile id and stores the
// result (see write).
func (u *Users) change(ctx context.Context, id string, pre Precondition, fn func(p *domain.Profile, now time.Time) error) (domain.Profile, error) {
	var changed domain.Profile
	err := u.write(ctx, id, pre, func(p domain.Profile, etag string) error {
		previousEmail := p.Email
		if err := fn(&p, u.now()); err != nil {
			return err
		}
		changed = p
		return u.Store.SaveProfile(ctx, p, etag, previousEmail)
	})
	return changed, err
}

// write runs one write on the current version of profile id. Writes to one
// profile queue in this replica; between replicas the store's ETag decides.
// With a precondition, a version other than the one the client named is
// ErrStale. Without one, a lost race is read again and retried, so no
// concurrent write is lost, at most maxAttempts times.
func (u *Users) write(ctx context.Context, id string, pre Precondition, fn func(p domain.Profile, etag string) error) error {
	release, err := u.queue.enter(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	for range maxAttempts {
		p, etag, found, err := u.Store.Profile(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return ErrProfileNotFound
		}
		if !pre.allows(etag) {
			return ErrStale
		}
		err = fn(p, etag)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if len(pre) > 0 {
			return ErrStale
		}
	}
	return ErrConflict
}

// AddAddress adds an address to profile id.
func (u *Users) AddAddress(ctx context.Context, c Caller, id string, f domain.AddressFields, pre Precondition) (domain.Address, error) {
	if err := authorize(c, id); err != nil {
		return domain.Address{}, err
	}
	if err := f.Check(false); err != nil {
		return domain.Address{}, err
	}
	var added domain.Address
	_, err := u.change(ctx, id, pre, func(p *domain.Profile, now time.Time) error {
		// Made in the profile's turn, so ids follow the stored order.
		addressID, err := u.NewID()
		if err != nil {
			return err
		}
		added, err = p.AddAddress(addressID, f, now)
		return err
	})
	return added, err
}

// Addresses lists profile id's addresses, oldest first, with the profile's
// version.
func (u *Users) Addresses(ctx context.Context, c Caller, id string) ([]domain.Address, string, error) {
	p, etag, err := u.Get(ctx, c, id)
	return p.Addresses, etag, err
}

// ReplaceAddress sets every field of one address of profile id.
func (u *Users) ReplaceAddress(ctx context.Context, c Caller, id, addressID string, f domain.AddressFields, pre Precondition) (domain.Address, error) {
	if err := authorize(c, id); err != nil {
		return domain.Address{}, err
	}
	if err := f.Check(true); err != nil {
		return domain.Address{}, err
	}
	var replaced domain.Address
	_, err := u.change(ctx, id, pre, func(p *domain.Profile, now time.Time) (err error) {
		replaced, err = p.ReplaceAddress(addressID, f, now)
		return err
	})
	return replaced, err
}

// RemoveAddress deletes one address of profile id.
func (u *Users) RemoveAddress(ctx context.Context, c Caller, id, addressID string, pre Precondition) error {
	if err := authorize(c, id); err != nil {
		return err
	}
	_, err := u.change(ctx, id, pre, func(p *domain.Profile, now time.Time) error {
		return p.RemoveAddress(addressID, now)
	})
	return err
}

// Sort fields of the admin listing.
var SortFields = []string{"createdAt", "name", "email"}

// maxQueryLen bounds the listing's search prefix (an email's length).
const maxQueryLen = 254

// ListQuery is one page of the admin listing.
type ListQuery struct {
	Page   paging.Request
	SortBy string // one of SortFields
	Desc   bool
	// Prefix, when set, keeps profiles whose name or email starts with it
	// (case-insensitive; stored lower case).
	Prefix string
}

// ListParams are the listing's query parameters as the client sent them.
type ListParams struct {
	Page, Size, SortBy, SortDir, Q string
}

// Query reads p: page and size, sortBy, sortDir (asc or desc, any case) and
// q. Every problem is named.
func (p ListParams) Query() (ListQuery, error) {
	errs := validation.Errors{}
	lq := ListQuery{Page: paging.Parse(p.Page, p.Size, errs), SortBy: cmp.Or(p.SortBy, "createdAt"), Desc: true}
	if !slices.Contains(SortFields, lq.SortBy) {
		errs.Add("sortBy", "sortBy must be one of "+strings.Join(SortFields, ", "))
	}
	switch strings.ToLower(p.SortDir) {
	case "", "desc":
	case "asc":
		lq.Desc = false
	default:
		errs.Add("sortDir", "sortDir must be either 'asc' or 'desc'")
	}
	lq.Prefix = strings.ToLower(strings.TrimSpace(p.Q))
	errs.OptionalText("q", lq.Prefix, maxQueryLen)
	return lq, errs.Err()
}

// List is one page of every profile, for admins (checked first: others
// learn nothing, not even which parameters are wrong).
func (u *Users) List(ctx context.Context, c Caller, p ListParams) (paging.Page[domain.Profile], error) {
	if !c.admin() {
		return paging.Page[domain.Profile]{}, ErrForbidden
	}
	q, err := p.Query()
	if err != nil {
		return paging.Page[domain.Profile]{}, err
	}
	list, total, err := u.Store.Profiles(ctx, q)
	if err != nil {
		return paging.Page[domain.Profile]{}, fmt.Errorf("list profiles: %w", err)
	}
	return paging.Of(q.Page, list, total), nil
}
