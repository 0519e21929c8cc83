package domain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPasswordPolicy(t *testing.T) {
	p := NewPasswordPolicy()
	assert.Len(t, p.common, 10000, "the shipped list")
	tests := []struct {
		password string
		ok       bool
	}{
		{"correct horse battery", true},
		{"Zq8!vT2#", true},
		{"short", false},
		{strings.Repeat("x", 129), false},
		{strings.Repeat("é", 128), true}, // characters, not bytes
		{"password", false},
		{"Password", false}, // common, whatever the case
		{"12345678", false},
		{"qwertyuiop", false},
		{"iloveyou", false},
	}
	for _, tt := range tests {
		got := p.Check(tt.password)
		if tt.ok {
			assert.Empty(t, got, tt.password)
		} else {
			assert.NotEmpty(t, got, tt.password)
		}
	}
}

// fast keeps the tests quick; the service uses OWASPMinimum or more.
var fast = Hasher{Params: Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

func TestHashAndVerify(t *testing.T) {
	encoded, err := fast.Hash("correct horse battery")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$"), encoded)

	ok, rehash, err := fast.Verify(encoded, "correct horse battery")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)

	ok, _, err = fast.Verify(encoded, "correct horse batterY")
	require.NoError(t, err)
	assert.False(t, ok)

	other, err := fast.Hash("correct horse battery")
	require.NoError(t, err)
	assert.NotEqual(t, encoded, other, "a fresh salt each time")
}

func TestVerifyAsksForRehashWithStrongerParams(t *testing.T) {
	old, err := fast.Hash("correct horse battery")
	require.NoError(t, err)
	stronger := Hasher{Params: Argon2Params{MemoryKiB: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}}
	ok, rehash, err := stronger.Verify(old, "correct horse battery")
	require.NoError(t, err)
	assert.True(t, ok, "old parameters still verify: they are in the hash")
	assert.True(t, rehash)
}

func TestOWASPMinimum(t *testing.T) {
	assert.GreaterOrEqual(t, OWASPMinimum.MemoryKiB, uint32(19*1024))
	assert.GreaterOrEqual(t, OWASPMinimum.Time, uint32(2))
	assert.GreaterOrEqual(t, OWASPMinimum.Threads, uint8(1))
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	for _, bad := range []string{
		"",
		"plaintext",
		"$2a$10$abcdefghijklmnopqrstuv", // bcrypt
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
	} {
		_, _, err := fast.Verify(bad, "x")
		assert.ErrorIs(t, err, ErrBadHash, bad)
	}
}
