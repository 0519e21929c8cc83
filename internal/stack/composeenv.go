package stack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ComposeEnv writes what docker-compose.yml needs and must not be committed,
// once (an existing file is kept, so tokens and the CA survive a re-run):
// dir/.secrets/ca.crt, issuer.crt and issuer.key, Sentry's certificate
// authority (daprd takes its trust anchors only from DAPR_TRUST_ANCHORS, so
// the CA is made before the containers start rather than by Sentry), and
// dir/.env with every app's two tokens and the trust anchors.
func ComposeEnv(dir string, apps []string) error {
	secrets := filepath.Join(dir, ".secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return err
	}
	caFile := filepath.Join(secrets, "ca.crt")
	if _, err := os.Stat(caFile); errors.Is(err, os.ErrNotExist) {
		if err := writeSentryCA(secrets, "public", 365*24*time.Hour); err != nil {
			return fmt.Errorf("sentry CA: %w", err)
		}
	}
	envFile := filepath.Join(dir, ".env")
	if _, err := os.Stat(envFile); err == nil {
		return nil
	}
	anchors, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Made by `bin/stack compose-env` for docker-compose.yml; never commit it.\n")
	for _, app := range apps {
		for _, kind := range []string{"APP", "API"} {
			fmt.Fprintf(&b, "%s_%s_TOKEN=%s\n", strings.ToUpper(app), kind, randomToken())
		}
	}
	// A double-quoted value keeps the PEM's line breaks as \n (both Compose
	// v2 and docker-compose 1.29 read it so).
	fmt.Fprintf(&b, "DAPR_TRUST_ANCHORS=\"%s\"\n", strings.ReplaceAll(strings.TrimSpace(string(anchors)), "\n", `\n`))
	return os.WriteFile(envFile, []byte(b.String()), 0o600)
}

// writeSentryCA makes a root certificate and an issuer it signed, shaped as
// Sentry makes its own (pkg/sentry/server/ca/bundle): the root names the
// trust domain, the issuer Sentry's SPIFFE id; both may sign certificates.
func writeSentryCA(dir, trustDomain string, ttl time.Duration) error {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	issuerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	template := func(org string) (*x509.Certificate, error) {
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
		if err != nil {
			return nil, err
		}
		return &x509.Certificate{
			SerialNumber: serial, Subject: pkix.Name{Organization: []string{org}},
			NotBefore: now.Add(-15 * time.Minute), NotAfter: now.Add(ttl),
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			IsCA:     true, BasicConstraintsValid: true,
		}, nil
	}
	root, err := template(trustDomain)
	if err != nil {
		return err
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return err
	}
	issuer, err := template(fmt.Sprintf("spiffe://%s/ns/default/dapr-sentry", trustDomain))
	if err != nil {
		return err
	}
	issuerDER, err := x509.CreateCertificate(rand.Reader, issuer, root, &issuerKey.PublicKey, rootKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(issuerKey)
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{
		"ca.crt":     {Type: "CERTIFICATE", Bytes: rootDER},
		"issuer.crt": {Type: "CERTIFICATE", Bytes: issuerDER},
		"issuer.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	}
	for name, block := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}
