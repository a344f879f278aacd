package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// db-connections: a leaky client (a batch job, a second service, a pool
// that never gives connections back) opens Connections connections to a
// DB instance, as the application's database user, through its endpoint,
// and holds them idle for the duration. They count in DatabaseConnections
// and leave the application's own pools only what is left of
// max_connections; the server refuses the rest ("sorry, too many clients
// already", or, as the instance fills, "remaining connection slots are
// reserved": the slots PostgreSQL keeps for superusers, as RDS keeps them
// for rdsadmin). The revert closes them; the run's end, Ctrl-C and a
// failed run revert it too (RevertAll), and a crashed lab's connections
// died with its process.

// ConnectionHolder is the data tier as db-connections needs it. The lab's
// Database hook implements it too; a Database without it cannot apply
// db-connections.
type ConnectionHolder interface {
	// HoldConnections opens up to n connections to the DB instance which
	// names (DBPrimary, DBReplica or an identifier) and holds them until
	// the Held's Release. It stops at the server's first refusal and holds
	// what it got; an error means it holds none.
	HoldConnections(ctx context.Context, which string, n int) (Held, error)
}

// Held is what a ConnectionHolder holds.
type Held struct {
	Identifier string // the DB instance
	Count      int    // connections opened
	Refused    string // the server's words when it refused the rest ("" none)
	// Alive counts the held connections that still answer (a failover or
	// a kill breaks them, as it breaks any client's).
	Alive func(ctx context.Context) int
	// Release closes them all.
	Release func(ctx context.Context) error
}

var errNoHolder = errors.New("this lab's database cannot hold connections for db-connections")

func planDBConnections(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.db == nil {
		return plan{}, errNoDatabase
	}
	ch, ok := h.db.(ConnectionHolder)
	if !ok {
		return plan{}, errNoHolder
	}
	if a.Connections < 1 {
		return plan{}, fmt.Errorf("db-connections needs 1 or more connections, not %d", a.Connections)
	}
	which := cmp.Or(a.DBInstance, DBPrimary)
	rec := FaultInjected{By: a.By, Action: a.Kind, Duration: a.Duration.String(),
		Detail: fmt.Sprintf("a leaky client holds %d connections to %s, so DatabaseConnections climbs toward max_connections", a.Connections, which)}
	return one("", 0, rec, &dbConnections{db: ch, which: which, n: a.Connections}), nil
}

type dbConnections struct {
	db    ConnectionHolder
	which string
	n     int
	held  Held
}

func (c *dbConnections) apply(ctx context.Context, s self) error {
	held, err := c.db.HoldConnections(ctx, c.which, c.n)
	if err != nil {
		return fmt.Errorf("hold connections: %w", err)
	}
	c.held = held
	if held.Count < c.n {
		s.progress(fmt.Sprintf("%s took %d of the %d connections asked; then it refused: %s", held.Identifier, held.Count, c.n, held.Refused))
	}
	return nil
}

func (c *dbConnections) verify(ctx context.Context) (string, error) {
	alive := c.held.Count
	if c.held.Alive != nil {
		alive = c.held.Alive(ctx)
	}
	if alive == 0 {
		return "", fmt.Errorf("none of the %d connections to %s answers", c.held.Count, c.held.Identifier)
	}
	return fmt.Sprintf("%d connection(s) to %s held idle", alive, c.held.Identifier), nil
}

func (c *dbConnections) revert(ctx context.Context) (string, error) {
	if c.held.Release == nil {
		return "", nil
	}
	if err := c.held.Release(ctx); err != nil {
		return "", fmt.Errorf("close the connections to %s: %w", c.held.Identifier, err)
	}
	return fmt.Sprintf("closed the %d connection(s) to %s", c.held.Count, c.held.Identifier), nil
}
