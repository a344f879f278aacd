package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// tlsLabel is the HKDF info that makes the agent's key from the token.
const tlsLabel = "lab-agent-tls-v1"

// tokenKey is the Ed25519 key the token derives: HKDF-SHA256 of the token
// (no salt, info tlsLabel) is the key's seed. The agent signs its
// certificate with it; the client knows its public half from its own token.
func tokenKey(token []byte) (ed25519.PrivateKey, error) {
	if len(token) != TokenSize {
		return nil, fmt.Errorf("agent token: %d bytes, want %d", len(token), TokenSize)
	}
	seed, err := hkdf.Key(sha256.New, token, nil, tlsLabel, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("derive the agent key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// serverTLS is the agent's TLS configuration: a certificate self-signed at
// start with the token's key. Its names do not matter: clients pin the key.
func serverTLS(token []byte, now time.Time) (*tls.Config, error) {
	key, err := tokenKey(token)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("agent certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "lab agent"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("agent certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// errNotThisToken is what the client's pin says of a server whose key is
// not the token's.
var errNotThisToken = errors.New("its certificate's key is not the one this token derives: the agent runs with a different token (or it is not a lab agent)")

// clientTLS accepts only a server whose certificate's key is the token's:
// no CA and no names, the key pinned (the name check is skipped, the key
// check replaces it). The client refuses a wrong server in the handshake,
// before it sends its credential.
func clientTLS(token []byte) (*tls.Config, error) {
	key, err := tokenKey(token)
	if err != nil {
		return nil, err
	}
	want := key.Public().(ed25519.PublicKey)
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // the name only: VerifyPeerCertificate pins the key
		NextProtos:         []string{"http/1.1"},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errNotThisToken
			}
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return fmt.Errorf("agent certificate: %w", err)
			}
			got, ok := cert.PublicKey.(ed25519.PublicKey)
			if !ok || !bytes.Equal(got, want) {
				return errNotThisToken
			}
			// A certificate copied from an agent is no use without the
			// key: TLS 1.3's CertificateVerify proves the server holds it.
			return nil
		},
	}, nil
}
