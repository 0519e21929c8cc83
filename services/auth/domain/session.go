package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"time"
)

// Session is one login: the family of refresh tokens descended from it. Only
// the hash of the one refresh token that may be spent next is kept.
type Session struct {
	ID                string    `json:"id"`
	UserID            string    `json:"userId"`
	CreatedAt         time.Time `json:"createdAt"`
	LastUsedAt        time.Time `json:"lastUsedAt"`
	ExpiresAt         time.Time `json:"expiresAt"`         // sliding: refresh TTL after last use
	AbsoluteExpiresAt time.Time `json:"absoluteExpiresAt"` // login + absolute TTL
	UserAgent         string    `json:"userAgent"`
	IP                string    `json:"ip"`
	RefreshHash       string    `json:"refreshHash"`
}

// Errors of a refresh. A session that ended is deleted, so it is not found
// at all.
var (
	ErrSessionExpired = errors.New("session has expired")
	ErrRefreshReused  = errors.New("refresh token already spent: the whole session is revoked")
)

// HashToken is how a refresh token's id is stored: SHA-256, hex.
func HashToken(jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return hex.EncodeToString(sum[:])
}

// NewSession starts a login whose first refresh token has id jti.
func NewSession(id, userID, userAgent, ip, jti string, now time.Time, cfg TokenConfig) *Session {
	abs := now.Add(cfg.AbsoluteTTL)
	return &Session{
		ID: id, UserID: userID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt:         cfg.RefreshExpiry(now, abs),
		AbsoluteExpiresAt: abs,
		UserAgent:         userAgent, IP: ip,
		RefreshHash: HashToken(jti),
	}
}

// Active reports whether the session can still be refreshed at now.
func (s *Session) Active(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// Rotate spends the refresh token presented (its id) and accepts next as
// the only one that may be spent after it. Presenting a token that was
// already spent means it was stolen or replayed: the caller must end the
// session, so every token of the family, the thief's and the owner's, stops
// working.
func (s *Session) Rotate(presented, next string, now time.Time, cfg TokenConfig) error {
	if !s.Active(now) {
		return ErrSessionExpired
	}
	if subtle.ConstantTimeCompare([]byte(HashToken(presented)), []byte(s.RefreshHash)) != 1 {
		return ErrRefreshReused
	}
	s.RefreshHash = HashToken(next)
	s.LastUsedAt = now
	s.ExpiresAt = cfg.RefreshExpiry(now, s.AbsoluteExpiresAt)
	return nil
}
