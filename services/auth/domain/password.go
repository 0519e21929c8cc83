package domain

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length bounds, in characters (NIST SP 800-63B: at least 8, allow
// at least 64; we allow 128). There are no composition rules.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

//go:embed common-passwords.txt
var commonPasswordList []byte

// PasswordPolicy rejects short, overlong and common passwords.
type PasswordPolicy struct {
	common map[string]struct{}
}

// NewPasswordPolicy loads the shipped list of the 10,000 most common
// passwords.
func NewPasswordPolicy() *PasswordPolicy {
	p := &PasswordPolicy{common: make(map[string]struct{}, 10000)}
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordList))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p.common[strings.ToLower(line)] = struct{}{}
	}
	return p
}

// Check returns why password is not acceptable, or "" when it is.
func (p *PasswordPolicy) Check(password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen || n > MaxPasswordLen:
		return fmt.Sprintf("Password must be between %d and %d characters", MinPasswordLen, MaxPasswordLen)
	case p.isCommon(password):
		return "Password is too common; choose one that is harder to guess"
	}
	return ""
}

func (p *PasswordPolicy) isCommon(password string) bool {
	_, ok := p.common[strings.ToLower(password)]
	return ok
}

// Argon2Params are argon2id's cost settings; they are stored in every hash,
// so they can be raised later and old hashes still verify.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   uint32
	KeyLen    uint32
}

// OWASPMinimum is OWASP's minimum recommendation for argon2id:
// m=19 MiB, t=2, p=1.
var OWASPMinimum = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords in the PHC string format
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
type Hasher struct {
	Params Argon2Params
}

// ErrBadHash means a stored hash cannot be parsed.
var ErrBadHash = errors.New("unrecognised password hash")

// Hash returns the encoded hash of password with a fresh random salt.
func (h Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.Params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.Params.Time, h.Params.MemoryKiB, h.Params.Threads, h.Params.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.MemoryKiB, h.Params.Time, h.Params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, and whether encoded was
// made with weaker parameters than h's (then re-hash it after a successful
// login).
func (h Hasher) Verify(encoded, password string) (ok, needsRehash bool, err error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	needsRehash = p.MemoryKiB < h.Params.MemoryKiB || p.Time < h.Params.Time || p.Threads < h.Params.Threads
	return ok, needsRehash, nil
}

func decodeHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, ErrBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, ErrBadHash
	}
	if p.MemoryKiB == 0 || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, ErrBadHash
	}
	return p, salt, key, nil
}

// DummyHash is verified against when an email is unknown, so that a login
// for an unknown email takes as long as one with a wrong password.
func (h Hasher) DummyHash() string {
	encoded, err := h.Hash("not-a-real-password-but-the-same-work")
	if err != nil {
		panic(err) // only if the system's random source fails
	}
	return encoded
}
