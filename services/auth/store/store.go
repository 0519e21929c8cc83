// Package store keeps the auth service's state in its Dapr state store
// (PostgreSQL database "auth"). Keys:
//
//	user:<id>          a User
//	email:<email>      {"userId"} — created only if absent: one account per email
//	session:<id>       a Session, expiring with its absolute limit; deleted when it ends
//	keys               the signing KeyRing
//	throttle:<subject> failed-login record of an account or address, with TTL
//	revocation:<id>    a published revocation, kept until it is moot
//
// Writes that end sessions go through a second component over the same
// table with Dapr's outbox enabled, so the revocation event is published if
// and only if the transaction commits. Lists (a user's sessions, all users)
// are SQL read models over the same JSONB rows (readmodel.go).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/auth/app"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// Store implements app.Store on a Dapr state store.
type Store struct {
	state  *statestore.Store // plain writes
	outbox *statestore.Store // the same rows; every transaction publishes
	*ReadModel
}

// New wraps the plain and the outbox component of one table, and its read
// model.
func New(state, outbox *statestore.Store, rm *ReadModel) *Store {
	return &Store{state: state, outbox: outbox, ReadModel: rm}
}

var _ app.Store = (*Store)(nil)

type emailIndex struct {
	UserID string `json:"userId"`
}

// claimTTL bounds how long an unfinished registration holds its email: if
// the process dies between claim and create, the email frees itself.
const claimTTL = 120

// ClaimEmail reserves email for userID before the (slow) password hash is
// computed, so that of many concurrent registrations of one email, one
// hashes and the others get app.ErrEmailTaken at once.
func (s *Store) ClaimEmail(ctx context.Context, email, userID string) (string, error) {
	err := s.state.Save(ctx, statestore.Op{Key: "email:" + email, Value: emailIndex{UserID: userID}, Create: true, TTL: claimTTL})
	if errors.Is(err, statestore.ErrConflict) {
		return "", app.ErrEmailTaken
	}
	if err != nil {
		return "", err
	}
	var idx emailIndex
	etag, found, err := s.state.Get(ctx, "email:"+email, &idx)
	if err != nil {
		return "", err
	}
	if !found || idx.UserID != userID {
		return "", app.ErrEmailTaken
	}
	return etag, nil
}

// CreateUser stores u and makes its email claim permanent, in one
// transaction; it fails if the claim (at claim, its ETag) was lost.
func (s *Store) CreateUser(ctx context.Context, u domain.User, claim string) error {
	return conflict(s.state.Transact(ctx,
		statestore.Op{Key: "email:" + u.Email, Value: emailIndex{UserID: u.ID}, ETag: claim},
		statestore.Op{Key: "user:" + u.ID, Value: u, Create: true},
	))
}

// UserByEmail finds a user by normalized email.
func (s *Store) UserByEmail(ctx context.Context, email string) (domain.User, bool, error) {
	var idx emailIndex
	_, found, err := s.state.Get(ctx, "email:"+email, &idx)
	if err != nil || !found {
		return domain.User{}, false, err
	}
	u, _, found, err := s.User(ctx, idx.UserID)
	return u, found, err
}

// User reads a user and its ETag.
func (s *Store) User(ctx context.Context, id string) (domain.User, string, bool, error) {
	var u domain.User
	etag, found, err := s.state.Get(ctx, "user:"+id, &u)
	return u, etag, found, err
}

// SaveUser writes u if it is still at etag.
func (s *Store) SaveUser(ctx context.Context, u domain.User, etag string) error {
	return conflict(s.state.Save(ctx, statestore.Op{Key: "user:" + u.ID, Value: u, ETag: etag}))
}

// Session reads a session and its ETag.
func (s *Store) Session(ctx context.Context, id string) (*domain.Session, string, bool, error) {
	var sess domain.Session
	etag, found, err := s.state.Get(ctx, "session:"+id, &sess)
	if err != nil || !found {
		return nil, "", found, err
	}
	return &sess, etag, true, nil
}

// SaveSession writes sess: created when etag is "", else only if still at
// etag (two refreshes of one token cannot both win).
func (s *Store) SaveSession(ctx context.Context, sess *domain.Session, etag string) error {
	ttl := int(time.Until(sess.AbsoluteExpiresAt).Seconds()) + 60
	return conflict(s.state.Save(ctx, statestore.Op{Key: "session:" + sess.ID, Value: sess, ETag: etag, Create: etag == "", TTL: max(ttl, 60)}))
}

// Revoke deletes the sessions r names and, when u is not nil, writes u (if
// still at etag), and keeps r as a record of its own until it is moot: all
// in one transaction through the outbox, so r is published if and only if
// it commits. The record is what the gateway reads back when events were
// lost (a Redis that lost its streams) or a replica starts afresh
// (Revocations). The outbox publishes each upsert, so with u the event goes
// out twice (u with r projected over it, and the record); applying a
// revocation twice is harmless.
func (s *Store) Revoke(ctx context.Context, r authtoken.Revocation, u *domain.User, etag string) error {
	ops := make([]statestore.Op, 0, len(r.SessionIDs)+3)
	for _, id := range r.SessionIDs {
		ops = append(ops, statestore.Op{Key: "session:" + id})
	}
	if u != nil {
		key := "user:" + u.ID
		ops = append(ops,
			statestore.Op{Key: key, Value: u, ETag: etag},
			statestore.Op{Key: key, Value: r, Projection: true})
	}
	id, err := ids.New()
	if err != nil {
		return err
	}
	ttl := int(time.Until(r.ExpiresAt).Seconds()) + 1
	ops = append(ops, statestore.Op{Key: "revocation:" + id, Value: r, Create: true, TTL: max(ttl, 1)})
	return conflict(s.outbox.Transact(ctx, ops...))
}

// Throttle reads the failed-login record of subject.
func (s *Store) Throttle(ctx context.Context, subject string) (domain.Throttle, string, error) {
	var t domain.Throttle
	etag, _, err := s.state.Get(ctx, "throttle:"+subject, &t)
	return t, etag, err
}

// SaveThrottle writes t for subject if still at etag ("" creates it), to be
// forgotten after keep.
func (s *Store) SaveThrottle(ctx context.Context, subject string, t domain.Throttle, etag string, keep time.Duration) error {
	return conflict(s.state.Save(ctx, statestore.Op{Key: "throttle:" + subject, Value: t, ETag: etag, Create: etag == "", TTL: max(int(keep.Seconds()), 1)}))
}

// ForgetThrottle deletes subject's record (a successful login).
func (s *Store) ForgetThrottle(ctx context.Context, subject string) error {
	return s.state.Save(ctx, statestore.Op{Key: "throttle:" + subject})
}

// KeyRing reads the signing keys and their ETag.
func (s *Store) KeyRing(ctx context.Context) (domain.KeyRing, string, error) {
	var ring domain.KeyRing
	etag, _, err := s.state.Get(ctx, "keys", &ring)
	return ring, etag, err
}

// SaveKeyRing writes ring if it is still at etag ("" creates it).
func (s *Store) SaveKeyRing(ctx context.Context, ring domain.KeyRing, etag string) error {
	return conflict(s.state.Save(ctx, statestore.Op{Key: "keys", Value: ring, ETag: etag, Create: etag == ""}))
}

func conflict(err error) error {
	if errors.Is(err, statestore.ErrConflict) {
		return fmt.Errorf("%w: %v", app.ErrConflict, err)
	}
	return err
}
