package app

import (
	"context"
	"errors"
	"time"

	"github.com/qeetmart/qeetmart/internal/authtoken"
	"github.com/qeetmart/qeetmart/internal/platform/ids"
	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/auth/domain"
)

// Caller is who the gateway says is calling: the verified access token's
// subject and session.
type Caller struct {
	UserID, SessionID string
	IP                string // the client's address, as the gateway saw it
}

// Refresh spends a refresh token for a new pair. A spent token presented
// again ends its whole session.
func (a *Auth) Refresh(ctx context.Context, token string) (Pair, error) {
	ring, err := a.keyRing(ctx)
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
		return Pair{}, ErrInvalidRefresh // ended (deleted) or never ours
	}
	u, _, found, err := a.Store.User(ctx, s.UserID)
	if err != nil {
		return Pair{}, err
	}
	if !found || u.Disabled {
		return Pair{}, ErrInvalidRefresh
	}
	key, err := ring.Active(now)
	if err != nil {
		return Pair{}, err
	}
	pair, next, err := a.sign(key, u, s.ID, now, a.Tokens.RefreshExpiry(now, s.AbsoluteExpiresAt))
	if err != nil {
		return Pair{}, err
	}
	if err := s.Rotate(claims.ID, next.ID, now, a.Tokens); err != nil {
		if errors.Is(err, domain.ErrRefreshReused) {
			if err := a.end(ctx, []string{s.ID}); err != nil {
				return Pair{}, err
			}
		}
		return Pair{}, ErrInvalidRefresh
	}
	if err := a.Store.SaveSession(ctx, s, etag); err != nil {
		if errors.Is(err, ErrConflict) {
			return Pair{}, ErrInvalidRefresh // a concurrent refresh of the same token won, or the session ended
		}
		return Pair{}, err
	}
	return pair, nil
}

// Logout ends the session of a refresh token. Unknown or invalid tokens
// succeed too: the caller's goal (that token no longer works) holds.
func (a *Auth) Logout(ctx context.Context, token string) error {
	ring, err := a.keyRing(ctx)
	if err != nil {
		return err
	}
	claims, err := a.Tokens.ParseRefresh(token, ring, a.Now().UTC())
	if err != nil {
		return nil
	}
	_, _, found, err := a.Store.Session(ctx, claims.SessionID)
	if err != nil || !found {
		return err
	}
	return a.end(ctx, []string{claims.SessionID})
}

// Sessions lists the caller's active sessions, newest first.
func (a *Auth) Sessions(ctx context.Context, c Caller) ([]domain.Session, error) {
	all, err := a.Store.SessionsOf(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	active := all[:0]
	for _, s := range all {
		if s.Active(now) {
			active = append(active, s)
		}
	}
	return active, nil
}

// EndSession ends one of the caller's sessions (the current one included).
// Another user's session id is reported as not found.
func (a *Auth) EndSession(ctx context.Context, c Caller, id string) error {
	if !ids.Valid(id) {
		return ErrSessionNotFound
	}
	s, _, found, err := a.Store.Session(ctx, id)
	if err != nil {
		return err
	}
	if !found || s.UserID != c.UserID {
		return ErrSessionNotFound
	}
	return a.end(ctx, []string{id})
}

// LogoutAll ends every session of the caller, this one included.
func (a *Auth) LogoutAll(ctx context.Context, c Caller) error {
	ids, err := a.sessionIDs(ctx, c.UserID, "")
	if err != nil {
		return err
	}
	return a.Store.Revoke(ctx, a.revocation(ids, c.UserID), nil, "")
}

// ChangePassword replaces the caller's password and ends every other
// session of theirs; the caller's own session carries on. A wrong old
// password counts as a failed login of the account and the address (a
// stolen access token must not become a way to guess the password).
func (a *Auth) ChangePassword(ctx context.Context, c Caller, oldPassword, newPassword string) error {
	u, etag, found, err := a.Store.User(ctx, c.UserID)
	if err != nil {
		return err
	}
	if !found {
		return ErrUserNotFound
	}
	gate, err := a.throttleGate(ctx, u.Email, c.IP)
	if err != nil {
		return err
	}
	ok, _, err := a.verify(ctx, u.PasswordHash, oldPassword)
	if errors.Is(err, ErrBusy) {
		return err
	}
	if err != nil || !ok {
		if err := gate.fail(ctx); err != nil {
			return err
		}
		return ErrWrongPassword
	}
	gate.succeed(ctx)
	if oldPassword == newPassword {
		return ErrSamePassword
	}
	if msg := a.Policy.Check(newPassword); msg != "" {
		return validation.Errors{"newPassword": msg}
	}
	hash, err := a.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	others, err := a.sessionIDs(ctx, c.UserID, c.SessionID)
	if err != nil {
		return err
	}
	u.PasswordHash, u.UpdatedAt = hash, a.Now().UTC()
	if len(others) == 0 {
		return a.Store.SaveUser(ctx, u, etag)
	}
	return a.Store.Revoke(ctx, a.revocation(others, ""), &u, etag)
}

// end deletes sessions and tells the gateway their access tokens are void.
func (a *Auth) end(ctx context.Context, ids []string) error {
	return a.Store.Revoke(ctx, a.revocation(ids, ""), nil, "")
}

// Revocations lists the revocations still in force, for a gateway replica
// to catch up on what it may have missed (it starts afresh, or events were
// lost with the pub/sub's storage).
func (a *Auth) Revocations(ctx context.Context) ([]authtoken.Revocation, error) {
	all, err := a.Store.Revocations(ctx)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	live := all[:0]
	for _, r := range all {
		if r.ExpiresAt.After(now) {
			live = append(live, r)
		}
	}
	return live, nil
}

// revocation voids the given sessions and, with userID, every token of the
// user issued before this second (whole seconds: the iat claim has no
// more, and a login later in this second must keep working).
func (a *Auth) revocation(ids []string, userID string) authtoken.Revocation {
	now := a.Now().UTC()
	r := authtoken.Revocation{SessionIDs: ids, ExpiresAt: now.Add(a.Tokens.AccessTTL + authtoken.MaxLeeway)}
	if userID != "" {
		r.UserID, r.NotBefore = userID, now.Truncate(time.Second)
	}
	return r
}

// sessionIDs lists the user's session ids, except one.
func (a *Auth) sessionIDs(ctx context.Context, userID, except string) ([]string, error) {
	sessions, err := a.Store.SessionsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(sessions))
	for _, s := range sessions {
		if s.ID != except {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}
