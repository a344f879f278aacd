package rds

import "context"

// SetPromoteHook makes the tier's failovers run f in place of sending
// pg_promote() to their target (nil: send it).
func SetPromoteHook(t *Tier, f func(ctx context.Context, to Server) (sent bool, err error)) {
	t.mu.Lock()
	t.promoteHook = f
	t.mu.Unlock()
}
