// Package store keeps the user service's state in its Dapr state store
// (PostgreSQL database "user"). Keys:
//
//	profile:<userId>  a Profile with its addresses (one aggregate, one ETag)
//	email:<email>     {"userId"}: created only if absent, so one email
//	                  belongs to one profile, whoever races for it
//
// Every write is a Dapr transaction (one PostgreSQL transaction), so a
// profile and its email claim change together or not at all. The admin
// listing is SQL over the same rows (ReadModel).
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/services/user/app"
	"github.com/qeetmart/qeetmart/services/user/domain"
)

// Store implements app.Store on a Dapr state store.
type Store struct {
	state *statestore.Store
	*ReadModel
}

// New wraps the state store and its read model.
func New(state *statestore.Store, rm *ReadModel) *Store { return &Store{state: state, ReadModel: rm} }

var _ app.Store = (*Store)(nil)

// document is what is stored under profile:<id>: the profile, plus its
// creation time as readmodel.SortableTime, for the listing's index.
type document struct {
	domain.Profile
	Created string `json:"created"`
}

func toDocument(p domain.Profile) document {
	return document{Profile: p, Created: readmodel.SortableTime(p.CreatedAt)}
}

type emailClaim struct {
	UserID string `json:"userId"`
}

func profileKey(id string) string  { return "profile:" + id }
func emailKey(email string) string { return "email:" + email }

// Profile reads profile id and its ETag.
func (s *Store) Profile(ctx context.Context, id string) (domain.Profile, string, bool, error) {
	var d document
	etag, found, err := s.state.Get(ctx, profileKey(id), &d)
	return d.Profile, etag, found, err
}

// EmailOwner is the id of the profile holding email.
func (s *Store) EmailOwner(ctx context.Context, email string) (string, bool, error) {
	var c emailClaim
	_, found, err := s.state.Get(ctx, emailKey(email), &c)
	return c.UserID, found, err
}

// CreateProfile stores a new profile and claims its email.
func (s *Store) CreateProfile(ctx context.Context, p domain.Profile) error {
	return conflict(s.state.Transact(ctx,
		statestore.Op{Key: emailKey(p.Email), Value: emailClaim{UserID: p.ID}, Create: true},
		statestore.Op{Key: profileKey(p.ID), Value: toDocument(p), Create: true},
	))
}

// SaveProfile writes p over the version at etag, moving its email claim
// when the email changed.
func (s *Store) SaveProfile(ctx context.Context, p domain.Profile, etag, previousEmail string) error {
	ops := []statestore.Op{{Key: profileKey(p.ID), Value: toDocument(p), ETag: etag}}
	if p.Email != previousEmail {
		ops = append(ops,
			statestore.Op{Key: emailKey(p.Email), Value: emailClaim{UserID: p.ID}, Create: true},
			statestore.Op{Key: emailKey(previousEmail)})
	}
	return conflict(s.state.Transact(ctx, ops...))
}

// DeleteProfile deletes the profile at etag (its addresses with it) and
// frees its email.
func (s *Store) DeleteProfile(ctx context.Context, p domain.Profile, etag string) error {
	return conflict(s.state.Transact(ctx,
		statestore.Op{Key: profileKey(p.ID), ETag: etag},
		statestore.Op{Key: emailKey(p.Email)},
	))
}

func conflict(err error) error {
	if errors.Is(err, statestore.ErrConflict) {
		return fmt.Errorf("%w: %v", app.ErrConflict, err)
	}
	return err
}
