// Package app is the auth service's use cases: accounts and login (this
// file), sessions (sessions.go), administration (admin.go) and login
// throttling (throttle.go). It holds the rules' order and talks to storage
// through Store.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/admission"
	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// Errors the API maps to statuses.
var (
	ErrEmailTaken         = errors.New("email is already registered")
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrInvalidRefresh     = errors.New("refresh token is invalid")
	ErrConflict           = errors.New("concurrent update")
	ErrUserNotFound       = errors.New("user not found")
	ErrSessionNotFound    = errors.New("session not found")
	ErrWrongPassword      = errors.New("old password is incorrect")
	ErrSamePassword       = errors.New("new password must be different from old password")
	ErrForbidden          = errors.New("admin role required")
	ErrOwnAccount         = errors.New("admins cannot disable or demote themselves")
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

	// Revoke deletes the sessions r names, writes u when not nil (if still
	// at etag), and publishes r, atomically.
	Revoke(ctx context.Context, r authtoken.Revocation, u *domain.User, etag string) error
	// Revocations lists those Revoke kept that are not moot yet.
	Revocations(ctx context.Context) ([]authtoken.Revocation, error)
	SessionsOf(ctx context.Context, userID string) ([]domain.Session, error)
	Users(ctx context.Context, offset, limit int) ([]domain.User, int, error)

	Throttle(ctx context.Context, subject string) (domain.Throttle, string, error)
	SaveThrottle(ctx context.Context, subject string, t domain.Throttle, etag string, keep time.Duration) error
	ForgetThrottle(ctx context.Context, subject string) error
}

// Auth runs the use cases.
type Auth struct {
	Store  Store
	Tokens domain.TokenConfig
	Hasher domain.Hasher
	Policy *domain.PasswordPolicy
	// Failed logins slow down per account and per client address.
	AccountThrottle, AddressThrottle domain.ThrottlePolicy
	// KeyActivationDelay is how long a rotated-in key is published before
	// it signs; longer than the gateway's JWKS refetch cooldown.
	KeyActivationDelay time.Duration
	Now                func() time.Time
	Log                *slog.Logger
	// LoggedIn, when set, hears how each login ended (ok,
	// invalid_credentials, throttled, busy, invalid, error): a metric.
	LoggedIn func(outcome string)
	// Locked, when set, hears each failed login that locked its account
	// or its client address (scope "account" or "address"): a metric.
	Locked func(scope string)

	dummyHash string
	keys      keyCache
	hashing   *admission.Gate
}

// New wires an Auth.
func New(store Store, tokens domain.TokenConfig, hasher domain.Hasher) *Auth {
	return &Auth{
		Store: store, Tokens: tokens, Hasher: hasher, Policy: domain.NewPasswordPolicy(),
		AccountThrottle:    domain.ThrottlePolicy{Threshold: 5, Base: time.Second, Max: time.Minute, Window: 15 * time.Minute},
		AddressThrottle:    domain.ThrottlePolicy{Threshold: 20, Base: time.Second, Max: 15 * time.Minute, Window: 15 * time.Minute},
		KeyActivationDelay: 30 * time.Second,
		Now:                time.Now, Log: slog.New(slog.DiscardHandler), dummyHash: hasher.DummyHash(),
		hashing: admission.New(0, defaultHashQueue),
	}
}

// defaultHashQueue is how many password checks may wait for a free core.
const defaultHashQueue = 16

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

// EnsureKeys makes sure a signing key exists (first start).
func (a *Auth) EnsureKeys(ctx context.Context) error {
	ring, etag, err := a.Store.KeyRing(ctx)
	if err != nil {
		return err
	}
	if _, err := ring.Active(a.Now()); err == nil {
		return nil
	}
	if _, err := ring.Rotate(a.Now(), 0); err != nil {
		return err
	}
	err = a.Store.SaveKeyRing(ctx, ring, etag)
	a.forgetKeys()
	if errors.Is(err, ErrConflict) {
		return nil // another replica made it first
	}
	return err
}

// JWKS is the published key set.
func (a *Auth) JWKS(ctx context.Context) (any, error) {
	ring, err := a.keyRing(ctx)
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
	_, found, err := a.Store.UserByEmail(ctx, validation.NormalizeEmail(email))
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
	email = validation.NormalizeEmail(email)
	fields := validation.Errors{}
	if !validation.Email(email) {
		fields["email"] = "Email must be valid"
	}
	if msg := a.Policy.Check(password); msg != "" {
		fields["password"] = msg
	}
	if len(fields) > 0 {
		return domain.User{}, fields
	}
	id, err := ids.New()
	if err != nil {
		return domain.User{}, err
	}
	// The email is claimed before the slow hash, so that of many concurrent
	// registrations of one email only one pays for hashing.
	claim, err := a.Store.ClaimEmail(ctx, email, id)
	if err != nil {
		return domain.User{}, err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return domain.User{}, err
	}
	now := a.Now().UTC()
	u := domain.User{ID: id, Email: email, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	return u, a.Store.CreateUser(ctx, u, claim)
}

// Login checks credentials and starts a session. Unknown email and wrong
// password take the same time and give the same error; both count against
// the account and the address, which are refused while throttled.
func (a *Auth) Login(ctx context.Context, email, password string, c Client) (Pair, error) {
	p, err := a.login(ctx, email, password, c)
	if a.LoggedIn != nil {
		a.LoggedIn(loginOutcome(err))
	}
	return p, err
}

// LoginOutcomes are every name loginOutcome gives.
var LoginOutcomes = []string{"ok", "invalid_credentials", "throttled", "busy", "invalid", "error"}

// loginOutcome classifies how a login ended, for a metric's label.
func loginOutcome(err error) string {
	var throttled ThrottledError
	var invalid validation.Errors
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrInvalidCredentials):
		return "invalid_credentials"
	case errors.As(err, &throttled):
		return "throttled"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.As(err, &invalid):
		return "invalid"
	}
	return "error"
}

func (a *Auth) login(ctx context.Context, email, password string, c Client) (Pair, error) {
	email = validation.NormalizeEmail(email)
	if !validation.Email(email) {
		return Pair{}, validation.Errors{"email": "Email must be valid"}
	}
	gate, err := a.throttleGate(ctx, email, c.IP)
	if err != nil {
		return Pair{}, err
	}
	u, found, err := a.Store.UserByEmail(ctx, email)
	if err != nil {
		return Pair{}, err
	}
	hash := a.dummyHash
	if found {
		hash = u.PasswordHash
	}
	ok, rehash, err := a.verify(ctx, hash, password)
	if errors.Is(err, ErrBusy) {
		return Pair{}, err // not a guess: nothing was checked
	}
	if err != nil || !found || !ok || u.Disabled {
		if err := gate.fail(ctx); err != nil {
			return Pair{}, err // unrecorded failures would let guessing through
		}
		return Pair{}, ErrInvalidCredentials
	}
	gate.succeed(ctx)
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
	hash, err := a.hash(ctx, password)
	if err == nil {
		fresh.PasswordHash, fresh.UpdatedAt = hash, a.Now().UTC()
		err = a.Store.SaveUser(ctx, fresh, etag)
	}
	if err != nil {
		a.Log.WarnContext(ctx, "password re-hash postponed", "user", u.ID, "err", err)
	}
}

func (a *Auth) startSession(ctx context.Context, u domain.User, c Client) (Pair, error) {
	ring, err := a.keyRing(ctx)
	if err != nil {
		return Pair{}, err
	}
	now := a.Now().UTC()
	key, err := ring.Active(now)
	if err != nil {
		return Pair{}, err
	}
	sid, err := ids.New()
	if err != nil {
		return Pair{}, err
	}
	pair, refresh, err := a.sign(key, u, sid, now, a.Tokens.RefreshExpiry(now, now.Add(a.Tokens.AbsoluteTTL)))
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

// Me is the caller's account.
func (a *Auth) Me(ctx context.Context, userID string) (domain.User, error) {
	u, _, found, err := a.Store.User(ctx, userID)
	if err != nil {
		return u, err
	}
	if !found {
		return u, ErrUserNotFound
	}
	return u, nil
}
