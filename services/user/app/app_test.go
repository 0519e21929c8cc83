package app

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/paging"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/user/domain"
)

func newUsers(t *testing.T) (*Users, *memStore) {
	t.Helper()
	store := newMemStore()
	return New(store), store
}

func caller(t *testing.T, email string) Caller {
	t.Helper()
	id, err := ids.New()
	require.NoError(t, err)
	return Caller{UserID: id, Role: "USER", Email: email}
}

func details(email string) domain.Details {
	return domain.Details{Name: "Ann", Email: email, Phone: "+1 555 0100"}
}

func address(street string) domain.AddressFields {
	return domain.AddressFields{Street: street, City: "Pune", State: "MH", Pincode: "411001", Country: "India"}
}

func TestOnlyTheOwnerOrAnAdminAndBeforeAnythingIsRead(t *testing.T) {
	u, store := newUsers(t)
	ctx := context.Background()
	ann, bob := caller(t, "ann@example.com"), caller(t, "bob@example.com")
	admin := Caller{UserID: caller(t, "").UserID, Role: RoleAdmin}
	_, err := u.Create(ctx, ann, details("ann@example.com"))
	require.NoError(t, err)

	_, _, err = u.Get(ctx, bob, ann.UserID)
	assert.ErrorIs(t, err, ErrForbidden)
	_, _, err = u.Get(ctx, bob, caller(t, "").UserID)
	assert.ErrorIs(t, err, ErrForbidden, "a stranger cannot tell a missing profile from another's")
	_, err = u.Replace(ctx, bob, ann.UserID, details("bob@example.com"), nil)
	assert.ErrorIs(t, err, ErrForbidden)
	assert.ErrorIs(t, u.Delete(ctx, bob, ann.UserID, nil), ErrForbidden)
	_, err = u.AddAddress(ctx, bob, ann.UserID, address("x"), nil)
	assert.ErrorIs(t, err, ErrForbidden)
	_, _, err = u.Addresses(ctx, bob, ann.UserID)
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = u.ReplaceAddress(ctx, bob, ann.UserID, "a", address("x"), nil)
	assert.ErrorIs(t, err, ErrForbidden)
	assert.ErrorIs(t, u.RemoveAddress(ctx, bob, ann.UserID, "a", nil), ErrForbidden)
	_, err = u.List(ctx, ann, ListParams{SortBy: "nonsense"})
	assert.ErrorIs(t, err, ErrForbidden)

	p, _, err := u.Get(ctx, admin, ann.UserID)
	require.NoError(t, err)
	assert.Equal(t, "ann@example.com", p.Email)
	_, _, err = u.Get(ctx, admin, "not-a-uuid")
	assert.ErrorAs(t, err, new(validation.Errors), "an admin is told the id is malformed")
	_, _, err = u.Get(ctx, admin, bob.UserID)
	assert.ErrorIs(t, err, ErrProfileNotFound)
	assert.Equal(t, 1, store.writes, "refusals write nothing")
}

func TestCreateRules(t *testing.T) {
	u, _ := newUsers(t)
	ctx := context.Background()
	ann := caller(t, "Ann@Example.com")
	_, err := u.Create(ctx, ann, details("someone@example.com"))
	assert.ErrorIs(t, err, ErrEmailMismatch)
	p, err := u.Create(ctx, ann, details(" ANN@example.com"))
	require.NoError(t, err)
	assert.Equal(t, ann.UserID, p.ID)
	assert.Equal(t, "ann@example.com", p.Email)
	assert.Equal(t, p.CreatedAt, p.UpdatedAt)
	_, err = u.Create(ctx, ann, details("ann@example.com"))
	assert.ErrorIs(t, err, ErrProfileExists)

	admin := Caller{UserID: caller(t, "").UserID, Role: RoleAdmin, Email: "root@example.com"}
	_, err = u.Create(ctx, admin, details("ann@example.com"))
	assert.ErrorIs(t, err, ErrEmailTaken, "an admin may pick any email, but not a taken one")
	_, err = u.Create(ctx, admin, details("shop@example.com"))
	assert.NoError(t, err)
	_, err = u.Create(ctx, ann, domain.Details{})
	assert.ErrorAs(t, err, new(validation.Errors))
}

func TestReplaceMovesTheEmail(t *testing.T) {
	u, store := newUsers(t)
	ctx := context.Background()
	admin := Caller{UserID: caller(t, "").UserID, Role: RoleAdmin}
	ann, bob := caller(t, "ann@example.com"), caller(t, "bob@example.com")
	for _, c := range []Caller{ann, bob} {
		_, err := u.Create(ctx, c, details(c.Email))
		require.NoError(t, err)
	}
	_, err := u.Replace(ctx, ann, ann.UserID, details("ann2@example.com"), nil)
	assert.ErrorIs(t, err, ErrEmailMismatch, "a user keeps their account's email")
	_, err = u.Replace(ctx, admin, ann.UserID, details("bob@example.com"), nil)
	assert.ErrorIs(t, err, ErrEmailTaken)
	p, err := u.Replace(ctx, admin, ann.UserID, details("ann2@example.com"), nil)
	require.NoError(t, err)
	assert.Equal(t, "ann2@example.com", p.Email)
	owner, found, _ := store.EmailOwner(ctx, "ann@example.com")
	assert.False(t, found, "the old email is free: %s", owner)
	_, err = u.Create(ctx, caller(t, "ann@example.com"), details("ann@example.com"))
	assert.NoError(t, err)
}

func TestIfMatch(t *testing.T) {
	u, _ := newUsers(t)
	ctx := context.Background()
	ann := caller(t, "ann@example.com")
	_, err := u.Create(ctx, ann, details(ann.Email))
	require.NoError(t, err)
	_, etag, err := u.Get(ctx, ann, ann.UserID)
	require.NoError(t, err)

	_, err = u.AddAddress(ctx, ann, ann.UserID, address("a"), Precondition{etag})
	require.NoError(t, err)
	_, err = u.Replace(ctx, ann, ann.UserID, details(ann.Email), Precondition{etag})
	assert.ErrorIs(t, err, ErrStale, "the address write made a new version")
	_, now, _ := u.Get(ctx, ann, ann.UserID)
	_, err = u.Replace(ctx, ann, ann.UserID, details(ann.Email), Precondition{"old", now})
	assert.NoError(t, err, "any listed tag may match")
	_, err = u.Replace(ctx, ann, ann.UserID, details(ann.Email), Precondition{"*"})
	assert.NoError(t, err)
	assert.ErrorIs(t, u.Delete(ctx, ann, ann.UserID, Precondition{now}), ErrStale)
}

func TestALostRaceIsRetriedWithoutIfMatchAndStaleWithIt(t *testing.T) {
	u, store := newUsers(t)
	ctx := context.Background()
	ann := caller(t, "ann@example.com")
	_, err := u.Create(ctx, ann, details(ann.Email))
	require.NoError(t, err)
	_, etag, _ := u.Get(ctx, ann, ann.UserID)

	// Another replica writes between this one's read and its write, once.
	store.beforeWrite = func() {
		store.beforeWrite = nil
		store.otherReplica(ann.UserID, func(p *domain.Profile) { _, _ = p.AddAddress("other-replica", address("theirs"), time.Now()) })
	}
	_, err = u.AddAddress(ctx, ann, ann.UserID, address("mine"), nil)
	require.NoError(t, err)
	list, _, _ := u.Addresses(ctx, ann, ann.UserID)
	require.Len(t, list, 2, "both writes kept")
	assert.Equal(t, []string{"theirs", "mine"}, []string{list[0].Street, list[1].Street})

	store.beforeWrite = func() { store.otherReplica(ann.UserID, func(*domain.Profile) {}) }
	_, err = u.AddAddress(ctx, ann, ann.UserID, address("late"), Precondition{etag})
	assert.ErrorIs(t, err, ErrStale, "with If-Match, no retry")

	// A replica that always wins exhausts the bounded retry.
	store.writes = 0
	_, err = u.AddAddress(ctx, ann, ann.UserID, address("never"), nil)
	assert.ErrorIs(t, err, ErrConflict)
	assert.Equal(t, maxAttempts, store.writes)
}

// otherReplica changes profile id as another replica would: a new version,
// between this replica's read and its write.
func (m *memStore) otherReplica(id string, change func(*domain.Profile)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.profiles[id]
	change(&p)
	m.profiles[id] = p
	m.versions[id]++
}

func TestConcurrentAddressWritesKeepTheLimitAndOneDefault(t *testing.T) {
	u, _ := newUsers(t)
	ctx := context.Background()
	ann := caller(t, "ann@example.com")
	_, err := u.Create(ctx, ann, details(ann.Email))
	require.NoError(t, err)
	errs := make([]error, 30)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			isDefault := i%3 == 0
			f := address(fmt.Sprint(i))
			f.IsDefault = &isDefault
			_, errs[i] = u.AddAddress(ctx, ann, ann.UserID, f, nil)
		})
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if err != nil {
			assert.ErrorIs(t, err, domain.ErrTooManyAddresses)
			refused++
		}
	}
	assert.Equal(t, 10, refused)
	list, _, _ := u.Addresses(ctx, ann, ann.UserID)
	assert.Len(t, list, domain.MaxAddresses)
	defaults := 0
	for _, a := range list {
		if a.IsDefault {
			defaults++
		}
	}
	assert.Equal(t, 1, defaults)
}

func TestDeleteTakesTheAddressesAndFreesTheEmail(t *testing.T) {
	u, store := newUsers(t)
	ctx := context.Background()
	ann := caller(t, "ann@example.com")
	_, err := u.Create(ctx, ann, details(ann.Email))
	require.NoError(t, err)
	_, err = u.AddAddress(ctx, ann, ann.UserID, address("a"), nil)
	require.NoError(t, err)
	require.NoError(t, u.Delete(ctx, ann, ann.UserID, nil))
	_, _, err = u.Addresses(ctx, ann, ann.UserID)
	assert.ErrorIs(t, err, ErrProfileNotFound)
	assert.ErrorIs(t, u.Delete(ctx, ann, ann.UserID, nil), ErrProfileNotFound)
	_, found, _ := store.EmailOwner(ctx, ann.Email)
	assert.False(t, found)
	p, err := u.Create(ctx, ann, details(ann.Email))
	require.NoError(t, err)
	assert.Empty(t, p.Addresses, "a new profile starts with no addresses")
}

func TestListParams(t *testing.T) {
	q, err := ListParams{}.Query()
	require.NoError(t, err)
	assert.Equal(t, ListQuery{Page: paging.Request{Page: 0, Size: 10}, SortBy: "createdAt", Desc: true}, q)
	q, err = ListParams{Page: "2", Size: "5", SortBy: "email", SortDir: "ASC", Q: "  Ann "}.Query()
	require.NoError(t, err)
	assert.Equal(t, ListQuery{Page: paging.Request{Page: 2, Size: 5}, SortBy: "email", Desc: false, Prefix: "ann"}, q)

	_, err = ListParams{Page: "-1", Size: "101", SortBy: "password", SortDir: "sideways", Q: "a\x00"}.Query()
	var errs validation.Errors
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, []string{"page", "q", "size", "sortBy", "sortDir"}, sortedKeys(errs))
	assert.Equal(t, "sortDir must be either 'asc' or 'desc'", errs["sortDir"])
}

func sortedKeys(m validation.Errors) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
