package app

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// memStore is an in-memory Store for the use cases' unit tests. ETags are
// version counters; it records the revocations it was asked to publish.
type memStore struct {
	mu        sync.Mutex
	users     map[string]domain.User
	versions  map[string]int
	emails    map[string]string
	sessions  map[string]domain.Session
	ring      *domain.KeyRing
	throttles map[string]domain.Throttle
	published []authtoken.Revocation
}

func newMemStore() *memStore {
	return &memStore{users: map[string]domain.User{}, versions: map[string]int{}, emails: map[string]string{},
		sessions: map[string]domain.Session{}, throttles: map[string]domain.Throttle{}}
}

func (m *memStore) etag(key string) string { return strings.Repeat("v", m.versions[key]+1) }

func (m *memStore) ClaimEmail(_ context.Context, email, userID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.emails[email]; taken {
		return "", ErrEmailTaken
	}
	m.emails[email] = userID
	return "claim", nil
}

func (m *memStore) CreateUser(_ context.Context, u domain.User, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.ID] = u
	return nil
}

func (m *memStore) UserByEmail(_ context.Context, email string) (domain.User, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[m.emails[email]]
	return u, ok, nil
}

func (m *memStore) User(_ context.Context, id string) (domain.User, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	return u, m.etag("user:" + id), ok, nil
}

func (m *memStore) saveUser(u domain.User, etag string) error {
	if etag != m.etag("user:"+u.ID) {
		return ErrConflict
	}
	m.users[u.ID] = u
	m.versions["user:"+u.ID]++
	return nil
}

func (m *memStore) SaveUser(_ context.Context, u domain.User, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saveUser(u, etag)
}

func (m *memStore) Session(_ context.Context, id string) (*domain.Session, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	return &s, m.etag("session:" + id), ok, nil
}

func (m *memStore) SaveSession(_ context.Context, s *domain.Session, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.sessions[s.ID]; (etag == "" && exists) || (etag != "" && etag != m.etag("session:"+s.ID)) {
		return ErrConflict
	}
	m.sessions[s.ID] = *s
	m.versions["session:"+s.ID]++
	return nil
}

func (m *memStore) KeyRing(context.Context) (domain.KeyRing, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ring == nil {
		return domain.KeyRing{}, "", nil
	}
	return domain.KeyRing{Keys: slices.Clone(m.ring.Keys)}, m.etag("keys"), nil
}

func (m *memStore) SaveKeyRing(_ context.Context, ring domain.KeyRing, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (m.ring == nil) != (etag == "") || (etag != "" && etag != m.etag("keys")) {
		return ErrConflict
	}
	m.ring = &ring
	m.versions["keys"]++
	return nil
}

func (m *memStore) Revoke(_ context.Context, r authtoken.Revocation, u *domain.User, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u != nil {
		if err := m.saveUser(*u, etag); err != nil {
			return err
		}
	}
	for _, id := range r.SessionIDs {
		delete(m.sessions, id)
	}
	m.published = append(m.published, r)
	return nil
}

func (m *memStore) Revocations(context.Context) ([]authtoken.Revocation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.published), nil
}

func (m *memStore) SessionsOf(_ context.Context, userID string) ([]domain.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []domain.Session
	for _, s := range m.sessions {
		if s.UserID == userID {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memStore) Users(_ context.Context, offset, limit int) ([]domain.User, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := make([]domain.User, 0, len(m.users))
	for _, u := range m.users {
		all = append(all, u)
	}
	slices.SortFunc(all, func(a, b domain.User) int { return strings.Compare(a.ID, b.ID) })
	if offset > len(all) {
		offset = len(all)
	}
	return all[offset:min(offset+limit, len(all))], len(all), nil
}

func (m *memStore) Throttle(_ context.Context, subject string) (domain.Throttle, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.throttles[subject]
	if !ok {
		return t, "", nil
	}
	return t, m.etag("throttle:" + subject), nil
}

func (m *memStore) SaveThrottle(_ context.Context, subject string, t domain.Throttle, etag string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.throttles[subject]; (etag == "" && exists) || (etag != "" && etag != m.etag("throttle:"+subject)) {
		return ErrConflict
	}
	m.throttles[subject] = t
	m.versions["throttle:"+subject]++
	return nil
}

func (m *memStore) ForgetThrottle(_ context.Context, subject string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.throttles, subject)
	return nil
}
