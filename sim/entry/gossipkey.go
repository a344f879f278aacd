package entry

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Gossip is a run's cluster secret: memberlist's SecretKey (AES-256, so
// every gossip packet and stream is encrypted and authenticated) and its
// Label (carried outside each packet and stream; one with another label is
// dropped). Both are new for every run, so nothing outside the run (another
// lab, a stray memberlist agent on loopback) can join the cluster or gossip
// a node dead or alive and so steer the DNS answers.
type Gossip struct {
	Key   []byte // 32 random bytes
	Label string // "simplydone-lab-" and 16 random hex digits
}

// gossipKeyLen is AES-256's key length, the longest memberlist takes.
const gossipKeyLen = 32

// NewGossip makes a run's key and label from crypto/rand.
func NewGossip() (Gossip, error) {
	b := make([]byte, gossipKeyLen+8)
	if _, err := rand.Read(b); err != nil {
		return Gossip{}, fmt.Errorf("cluster: make the run's gossip key: %w", err)
	}
	return Gossip{Key: b[:gossipKeyLen], Label: "simplydone-lab-" + hex.EncodeToString(b[gossipKeyLen:])}, nil
}

// valid says why g cannot secure a member, or nil.
func (g Gossip) valid() error {
	if len(g.Key) != gossipKeyLen || g.Label == "" {
		return fmt.Errorf("a per-run gossip key of %d bytes and a label are required (entry.NewGossip); got a %d-byte key and label %q",
			gossipKeyLen, len(g.Key), g.Label)
	}
	return nil
}
