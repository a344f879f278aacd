package agent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TokenSize is a token's length in bytes (hex in its file: twice that).
const TokenSize = 32

// NewToken draws a new token: 32 random bytes.
func NewToken() ([]byte, error) {
	t := make([]byte, TokenSize)
	if _, err := rand.Read(t); err != nil {
		return nil, fmt.Errorf("draw an agent token: %w", err)
	}
	return t, nil
}

// WriteToken writes token to path as hex and a newline, readable by its
// owner only (0600). An existing file is not overwritten.
func WriteToken(path string, token []byte) error {
	if len(token) != TokenSize {
		return fmt.Errorf("agent token for %s: %d bytes, want %d", path, len(token), TokenSize)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write agent token: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(token) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write agent token %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write agent token %s: %w", path, err)
	}
	return nil
}

// ReadToken reads a token file: 64 hexadecimal digits (surrounding space
// ignored), the file readable by its owner only, as ssh wants of a key.
// Errors name the file and what is wrong.
func ReadToken(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("agent token: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("agent token %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("agent token %s: mode %04o lets others read it; allowed: readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent token: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, fmt.Errorf("agent token %s: the file is empty; allowed: %d hexadecimal digits (`lab agent token --out %s` writes one)", path, 2*TokenSize, path)
	}
	t, err := hex.DecodeString(s)
	if err != nil || len(t) != TokenSize {
		what := fmt.Sprintf("%d characters", len(s))
		if err != nil {
			var inv hex.InvalidByteError
			if errors.As(err, &inv) {
				what = fmt.Sprintf("%q is not a hexadecimal digit", byte(inv))
			}
		}
		return nil, fmt.Errorf("agent token %s: %s; allowed: %d hexadecimal digits (`lab agent token --out FILE` writes one)", path, what, 2*TokenSize)
	}
	return t, nil
}

// authLabel is what the bearer credential is the token's HMAC of.
const authLabel = "lab-agent-auth-v1"

// bearer is the credential a client sends: hex(HMAC-SHA256(token,
// authLabel)). The token itself never crosses the wire.
func bearer(token []byte) string {
	m := hmac.New(sha256.New, token)
	m.Write([]byte(authLabel))
	return hex.EncodeToString(m.Sum(nil))
}
