package stack

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The CA made for Compose is one Sentry takes (an issuer the root signed,
// both allowed to sign, the key the issuer's), and a second run keeps the
// tokens and the CA it made the first time.
func TestComposeEnvMakesACAAndTokensOnce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, ComposeEnv(dir, Apps))

	cert := func(name string) *x509.Certificate {
		raw, err := os.ReadFile(filepath.Join(dir, ".secrets", name))
		require.NoError(t, err)
		block, _ := pem.Decode(raw)
		require.NotNil(t, block, name)
		c, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err, name)
		return c
	}
	root, issuer := cert("ca.crt"), cert("issuer.crt")
	assert.True(t, root.IsCA && issuer.IsCA)
	assert.NoError(t, root.CheckSignatureFrom(root), "the root signs itself")
	assert.NoError(t, issuer.CheckSignatureFrom(root), "the root signs the issuer")
	assert.NotZero(t, issuer.KeyUsage&x509.KeyUsageCertSign)
	keyPEM, err := os.ReadFile(filepath.Join(dir, ".secrets", "issuer.key"))
	require.NoError(t, err)
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	assert.True(t, key.(*ecdsa.PrivateKey).PublicKey.Equal(issuer.PublicKey), "the key is the issuer's")

	env, err := os.ReadFile(filepath.Join(dir, ".env"))
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, ".env"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	tokens := map[string]bool{}
	for _, line := range strings.Split(string(env), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasSuffix(k, "_TOKEN") {
			assert.Len(t, v, 48, k)
			tokens[v] = true
		}
	}
	assert.Len(t, tokens, 2*len(Apps), "every token its own")
	assert.Contains(t, string(env), `DAPR_TRUST_ANCHORS="-----BEGIN CERTIFICATE-----\n`)

	require.NoError(t, ComposeEnv(dir, Apps))
	again, err := os.ReadFile(filepath.Join(dir, ".env"))
	require.NoError(t, err)
	assert.Equal(t, string(env), string(again))
	assert.Equal(t, root.Raw, cert("ca.crt").Raw)
}
