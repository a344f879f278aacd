package rds

import (
	"context"
	"time"
)

// SetPromoteHook makes the tier's failovers run f in place of sending
// pg_promote() to their target (nil: send it).
func SetPromoteHook(t *Tier, f func(ctx context.Context, to Server) (sent bool, err error)) {
	t.mu.Lock()
	t.promoteHook = f
	t.mu.Unlock()
}

// Replace replaces the server id as a failover does one that holds WAL
// past the new primary's timeline, and waits until it is done.
func Replace(t *Tier, id string) {
	s, ok := t.server(id)
	if !ok {
		return
	}
	t.startReplace(context.Background(), s, "asked by a test")
	for {
		t.mu.Lock()
		busy := t.replacing[id]
		t.mu.Unlock()
		if !busy {
			return
		}
		select {
		case <-t.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
