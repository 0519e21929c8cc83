package app

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/qeetmart/qeetmart/services/user/domain"
)

// memStore is an in-memory Store for the use cases' unit tests, with the
// real one's conflict rules: ETags are version counters, an email is held by
// one profile. beforeWrite, when set, runs before each write (to make a race
// happen at a chosen moment).
type memStore struct {
	mu          sync.Mutex
	profiles    map[string]domain.Profile
	versions    map[string]int
	emails      map[string]string
	beforeWrite func()
	writes      int
}

func newMemStore() *memStore {
	return &memStore{profiles: map[string]domain.Profile{}, versions: map[string]int{}, emails: map[string]string{}}
}

func (m *memStore) Profile(_ context.Context, id string) (domain.Profile, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.profiles[id]
	p.Addresses = slices.Clone(p.Addresses)
	return p, strconv.Itoa(m.versions[id]), ok, nil
}

func (m *memStore) EmailOwner(_ context.Context, email string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.emails[email]
	return id, ok, nil
}

func (m *memStore) hook() {
	if m.beforeWrite != nil {
		m.beforeWrite()
	}
}

func (m *memStore) CreateProfile(_ context.Context, p domain.Profile) error {
	m.hook()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if _, taken := m.emails[p.Email]; taken {
		return ErrConflict
	}
	if _, exists := m.profiles[p.ID]; exists {
		return ErrConflict
	}
	m.profiles[p.ID], m.emails[p.Email] = p, p.ID
	m.versions[p.ID]++
	return nil
}

func (m *memStore) SaveProfile(_ context.Context, p domain.Profile, etag, previousEmail string) error {
	m.hook()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if _, exists := m.profiles[p.ID]; !exists || strconv.Itoa(m.versions[p.ID]) != etag {
		return ErrConflict
	}
	if p.Email != previousEmail {
		if _, taken := m.emails[p.Email]; taken {
			return ErrConflict
		}
		delete(m.emails, previousEmail)
		m.emails[p.Email] = p.ID
	}
	m.profiles[p.ID] = p
	m.versions[p.ID]++
	return nil
}

func (m *memStore) DeleteProfile(_ context.Context, p domain.Profile, etag string) error {
	m.hook()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if strconv.Itoa(m.versions[p.ID]) != etag {
		return ErrConflict
	}
	delete(m.profiles, p.ID)
	delete(m.emails, p.Email)
	m.versions[p.ID]++
	return nil
}

func (m *memStore) Profiles(_ context.Context, q ListQuery) ([]domain.Profile, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []domain.Profile
	for _, p := range m.profiles {
		if q.Prefix == "" || strings.HasPrefix(strings.ToLower(p.Name), q.Prefix) || strings.HasPrefix(p.Email, q.Prefix) {
			all = append(all, p)
		}
	}
	slices.SortFunc(all, func(a, b domain.Profile) int { return cmp.Compare(a.Name, b.Name) })
	from := min(q.Page.Offset(), len(all))
	return all[from:min(from+q.Page.Size, len(all))], len(all), nil
}
