// Package app is the auth service's use cases: register, login, refresh,
// logout, me. It holds the rules' order and talks to storage through Store.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// Errors the API maps to statuses.
var (
	ErrEmailTaken         = errors.New("email is already registered")
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrInvalidRefresh     = errors.New("refresh token is invalid")
	ErrConflict           = errors.New("concurrent update")
	ErrNotFound           = errors.New("not found")
)

// Store is what the use cases need from storage.
type Store interface {
	ClaimEmail(ctx context.Context, email, userID string) (claim string, err error)
	CreateUser(ctx context.Context, u domain.User, claim string) error
	UserByEmail(ctx context.Context, email string) (domain.User, bool, error)
	User(ctx context.Context, id string) (domain.User, string, bool, error)
	SaveUser(ctx context.Context, u domain.User, etag string) error
	Session(ctx context.Context, id string) (*domain.Session, string, bool, error)
	SaveSession(ctx context.Context, s *domain.Session, etag string) error
	KeyRing(ctx context.Context) (domain.KeyRing, string, error)
	SaveKeyRing(ctx context.Context, ring domain.KeyRing, etag string) error
}

// Auth runs the use cases.
type Auth struct {
	Store  Store
	Tokens domain.TokenConfig
	Hasher domain.Hasher
	Policy *domain.PasswordPolicy
	Now    func() time.Time

	dummyHash string
}

// New wires an Auth.
func New(store Store, tokens domain.TokenConfig, hasher domain.Hasher) *Auth {
	return &Auth{Store: store, Tokens: tokens, Hasher: hasher, Policy: domain.NewPasswordPolicy(), Now: time.Now, dummyHash: hasher.DummyHash()}
}

// Pair is what register, login and refresh answer.
type Pair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"` // seconds
}

// Client describes who logs in, for the session list.
type Client struct {
	UserAgent, IP string
}

// FieldErrors maps request fields to what is wrong with them.
type FieldErrors map[string]string

func (f FieldErrors) Error() string { return fmt.Sprintf("invalid fields: %v", map[string]string(f)) }

// EnsureKeys makes sure a signing key exists (first start).
func (a *Auth) EnsureKeys(ctx context.Context) error {
	ring, etag, err := a.Store.KeyRing(ctx)
	if err != nil {
		return err
	}
	if _, err := ring.Active(); err == nil {
		return nil
	}
	if _, err := ring.Rotate(a.Now()); err != nil {
		return err
	}
	err = a.Store.SaveKeyRing(ctx, ring, etag)
	if errors.Is(err, ErrConflict) {
		return nil // another replica made it first
	}
	return err
}

// JWKS is the published key set.
func (a *Auth) JWKS(ctx context.Context) (any, error) {
	ring, _, err := a.Store.KeyRing(ctx)
	if err != nil {
		return nil, err
	}
	return ring.JWKS(), nil
}

// Register creates an account (role USER) and logs it in.
func (a *Auth) Register(ctx context.Context, email, password string, c Client) (Pair, error) {
	u, err := a.createUser(ctx, email, password, domain.RoleUser)
	if err != nil {
		return Pair{}, err
	}
	return a.startSession(ctx, u, c)
}

// EnsureAdmin creates the admin account from the start-up settings if its
// email is not registered yet. It never changes an existing account, so an
// admin who changed their password keeps it.
func (a *Auth) EnsureAdmin(ctx context.Context, email, password string) error {
	if email == "" {
		return nil
	}
	_, found, err := a.Store.UserByEmail(ctx, domain.NormalizeEmail(email))
	if err != nil || found {
		return err
	}
	_, err = a.createUser(ctx, email, password, domain.RoleAdmin)
	if errors.Is(err, ErrEmailTaken) {
		return nil // another replica made it first
	}
	return err
}

func (a *Auth) createUser(ctx context.Context, email, password, role string) (domain.User, error) {
	email = domain.NormalizeEmail(email)
	fields := FieldErrors{}
	if !domain.ValidEmail(email) {
		fields["email"] = "Email must be valid"
	}
	if msg := a.Policy.Check(password); msg != "" {
		fields["password"] = msg
	}
	if len(fields) > 0 {
		return domain.User{}, fields
	}
	id, err := domain.RandomID()
	if err != nil {
		return domain.User{}, err
	}
	// The email is claimed before the slow hash, so that of many concurrent
	// registrations of one email only one pays for hashing.
	claim, err := a.Store.ClaimEmail(ctx, email, id)
	if err != nil {
		return domain.User{}, err
	}
	hash, err := a.Hasher.Hash(password)
	if err != nil {
		return domain.User{}, err
	}
	now := a.Now().UTC()
	u := domain.User{ID: id, Email: email, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	return u, a.Store.CreateUser(ctx, u, claim)
}

// Login checks credentials and starts a session. Unknown email and wrong
// password take the same time and give the same error.
func (a *Auth) Login(ctx context.Context, email, password string, c Client) (Pair, error) {
	u, found, err := a.Store.UserByEmail(ctx, domain.NormalizeEmail(email))
	if err != nil {
		return Pair{}, err
	}
	hash := a.dummyHash
	if found {
		hash = u.PasswordHash
	}
	ok, rehash, err := a.Hasher.Verify(hash, password)
	if err != nil || !found || !ok || u.Disabled {
		return Pair{}, ErrInvalidCredentials
	}
	if rehash {
		a.upgradeHash(ctx, u, password)
	}
	return a.startSession(ctx, u, c)
}

// upgradeHash re-hashes with the current parameters; a failure only
// postpones the upgrade to the next login.
func (a *Auth) upgradeHash(ctx context.Context, u domain.User, password string) {
	fresh, etag, found, err := a.Store.User(ctx, u.ID)
	if err != nil || !found {
		return
	}
	if hash, err := a.Hasher.Hash(password); err == nil {
		fresh.PasswordHash, fresh.UpdatedAt = hash, a.Now().UTC()
		_ = a.Store.SaveUser(ctx, fresh, etag)
	}
}

func (a *Auth) startSession(ctx context.Context, u domain.User, c Client) (Pair, error) {
	ring, _, err := a.Store.KeyRing(ctx)
	if err != nil {
		return Pair{}, err
	}
	key, err := ring.Active()
	if err != nil {
		return Pair{}, err
	}
	sid, err := domain.RandomID()
	if err != nil {
		return Pair{}, err
	}
	now := a.Now().UTC()
	refreshExp := minTime(now.Add(a.Tokens.RefreshTTL), now.Add(a.Tokens.AbsoluteTTL))
	pair, refresh, err := a.sign(key, u, sid, now, refreshExp)
	if err != nil {
		return Pair{}, err
	}
	s := domain.NewSession(sid, u.ID, c.UserAgent, c.IP, refresh.ID, now, a.Tokens)
	if err := a.Store.SaveSession(ctx, s, ""); err != nil {
		return Pair{}, err
	}
	return pair, nil
}

func (a *Auth) sign(key domain.SigningKey, u domain.User, sid string, now, refreshExp time.Time) (Pair, domain.Issued, error) {
	access, err := a.Tokens.Sign(key, u, sid, authtoken.TypeAccess, now, now.Add(a.Tokens.AccessTTL))
	if err != nil {
		return Pair{}, domain.Issued{}, err
	}
	refresh, err := a.Tokens.Sign(key, u, sid, authtoken.TypeRefresh, now, refreshExp)
	if err != nil {
		return Pair{}, domain.Issued{}, err
	}
	return Pair{AccessToken: access.Token, RefreshToken: refresh.Token, TokenType: "Bearer", ExpiresIn: int(a.Tokens.AccessTTL.Seconds())}, refresh, nil
}

// Refresh spends a refresh token for a new pair. A spent token presented
// again ends its whole session.
func (a *Auth) Refresh(ctx context.Context, token string) (Pair, error) {
	ring, _, err := a.Store.KeyRing(ctx)
	if err != nil {
		return Pair{}, err
	}
	now := a.Now().UTC()
	claims, err := a.Tokens.ParseRefresh(token, ring, now)
	if err != nil {
		return Pair{}, ErrInvalidRefresh
	}
	s, etag, found, err := a.Store.Session(ctx, claims.SessionID)
	if err != nil {
		return Pair{}, err
	}
	if !found || s.UserID != claims.Subject {
		return Pair{}, ErrInvalidRefresh
	}
	u, _, found, err := a.Store.User(ctx, s.UserID)
	if err != nil {
		return Pair{}, err
	}
	if !found || u.Disabled {
		return Pair{}, ErrInvalidRefresh
	}
	key, err := ring.Active()
	if err != nil {
		return Pair{}, err
	}
	pair, next, err := a.sign(key, u, s.ID, now, minTime(now.Add(a.Tokens.RefreshTTL), s.AbsoluteExpiresAt))
	if err != nil {
		return Pair{}, err
	}
	if rerr := s.Rotate(claims.ID, next.ID, now, a.Tokens); rerr != nil {
		if errors.Is(rerr, domain.ErrRefreshReused) {
			// Record the end of the family; if that write loses a race,
			// the winner already changed the session and the token is
			// spent either way.
			_ = a.Store.SaveSession(ctx, s, etag)
		}
		return Pair{}, ErrInvalidRefresh
	}
	if err := a.Store.SaveSession(ctx, s, etag); err != nil {
		if errors.Is(err, ErrConflict) {
			return Pair{}, ErrInvalidRefresh // a concurrent refresh of the same token won
		}
		return Pair{}, err
	}
	return pair, nil
}

// Logout ends the session of a refresh token. Unknown or invalid tokens
// succeed too: the caller's goal (that token no longer works) holds.
func (a *Auth) Logout(ctx context.Context, token string) error {
	ring, _, err := a.Store.KeyRing(ctx)
	if err != nil {
		return err
	}
	claims, err := a.Tokens.ParseRefresh(token, ring, a.Now().UTC())
	if err != nil {
		return nil
	}
	s, etag, found, err := a.Store.Session(ctx, claims.SessionID)
	if err != nil || !found || !s.EndedAt.IsZero() {
		return err
	}
	s.End("logout", a.Now().UTC())
	return a.Store.SaveSession(ctx, s, etag)
}

// Me is the caller's account.
func (a *Auth) Me(ctx context.Context, userID string) (domain.User, error) {
	u, _, found, err := a.Store.User(ctx, userID)
	if err != nil {
		return u, err
	}
	if !found {
		return u, ErrNotFound
	}
	return u, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
