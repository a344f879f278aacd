package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/clock"
)

// db-connections: a leaky client (a batch job, a second service, a pool
// that never gives connections back) opens Connections connections to a
// DB instance, as the application's database user, through its endpoint,
// and holds them idle for the duration. They count in DatabaseConnections
// and leave the application's own pools only what is left of
// max_connections; the server refuses the rest ("sorry, too many clients
// already", or, as the instance fills, "remaining connection slots are
// reserved": the slots PostgreSQL keeps for superusers, as RDS keeps them
// for rdsadmin).
//
// The first connection is opened when the fault applies (a DB instance
// that takes none refuses the fault outright); the rest, in a goroutine
// the fault owns, so that the timeline goes on meanwhile (opening a
// hundred costs a quarter-core db.t3.micro some 20 s). The goroutine then
// checks them as a pool checks its idle connections, every
// LeakyHealthCheck of AWS time: those a failover or a restart broke are
// dropped and dialled again through the endpoint as it answers now, so
// the pressure follows a failover to the new primary. Its progress line
// says how many it holds of how many. The revert stops the goroutine and
// closes them all; the run's end, Ctrl-C and a failed run revert it too
// (RevertAll), and a crashed lab's connections died with its process.

// LeakyHealthCheck is how often (AWS time) the leaky client checks its
// connections and dials again the broken ones: pgxpool's HealthCheckPeriod
// default, a pool's own figure (not an AWS one).
const LeakyHealthCheck = time.Minute

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
	// Refill drops the held connections that no longer answer and opens
	// new ones, through the endpoint as it answers now, until it holds n
	// or the server refuses.
	Refill func(ctx context.Context, n int) Refilled
	// Release closes them all.
	Release func(ctx context.Context) error
}

// Refilled is what a Refill did.
type Refilled struct {
	Held    int    // held now
	Broke   int    // found broken and dropped
	Refused string // the server's (or the network's) words when it stopped short of n
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
	return one("", 0, rec, &dbConnections{db: ch, which: which, n: a.Connections, clock: h.clock}), nil
}

type dbConnections struct {
	db    ConnectionHolder
	which string
	n     int
	clock clock.Clock

	held   Held
	count  atomic.Int64 // held now, as the goroutine last saw
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
}

func (c *dbConnections) apply(ctx context.Context, s self) error {
	held, err := c.db.HoldConnections(ctx, c.which, 1)
	if err != nil {
		return fmt.Errorf("hold connections: %w", err)
	}
	c.held = held
	c.count.Store(int64(held.Count))
	run, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.stop, c.done = stop, make(chan struct{})
	go c.keep(run, s)
	return nil
}

// keep is the fault's goroutine: it opens the rest, then, every
// LeakyHealthCheck, drops the broken ones and dials them again, until the
// revert stops it.
func (c *dbConnections) keep(ctx context.Context, s self) {
	defer close(c.done)
	if c.held.Refill == nil {
		return
	}
	said := fmt.Sprintf("%d/%d", c.held.Count, c.n)
	for {
		r := c.held.Refill(ctx, c.n)
		if ctx.Err() != nil {
			return
		}
		c.count.Store(int64(r.Held))
		now := fmt.Sprintf("%d/%d", r.Held, c.n)
		switch {
		case r.Broke > 0:
			s.progress(fmt.Sprintf("%d of its connections to %s broke (a failover or a restart); dialled again through the endpoint: holds %s%s",
				r.Broke, c.held.Identifier, now, refusedText(r)))
		case now != said:
			s.progress(fmt.Sprintf("holds %s connections to %s%s", now, c.held.Identifier, refusedText(r)))
		}
		said = now
		var tick <-chan time.Time
		if c.clock != nil {
			tick = c.clock.After(LeakyHealthCheck)
		} else {
			tick = time.After(LeakyHealthCheck)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

func refusedText(r Refilled) string {
	if r.Refused == "" {
		return ""
	}
	return "; then it refused: " + r.Refused
}

func (c *dbConnections) verify(context.Context) (string, error) {
	return fmt.Sprintf("holds %d/%d connections to %s; it opens the rest beside the timeline", c.count.Load(), c.n, c.held.Identifier), nil
}

func (c *dbConnections) revert(ctx context.Context) (string, error) {
	if c.held.Release == nil || c.closed {
		return "", nil
	}
	c.closed = true
	c.stop()
	<-c.done
	if err := c.held.Release(ctx); err != nil {
		return "", fmt.Errorf("close the connections to %s: %w", c.held.Identifier, err)
	}
	return fmt.Sprintf("closed its connections to %s (it held %d/%d)", c.held.Identifier, c.count.Load(), c.n), nil
}
