package chaos

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// holdingDB is a fakeDB whose instances take at most room connections; it
// counts what is held, and breaks some on demand (a failover).
type holdingDB struct {
	fakeDB
	mu     sync.Mutex
	room   int
	held   int
	broken int // held connections a failover broke, found by the next Refill
	asked  []string
}

func (h *holdingDB) HoldConnections(_ context.Context, which string, n int) (Held, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, which)
	got := min(n, h.room-h.held)
	if got == 0 {
		return Held{}, errTooMany
	}
	h.held += got
	mine := got // what this client holds
	held := Held{Identifier: "db", Count: got,
		Alive: func(context.Context) int { h.mu.Lock(); defer h.mu.Unlock(); return mine - h.broken },
		Refill: func(_ context.Context, n int) Refilled {
			h.mu.Lock()
			defer h.mu.Unlock()
			r := Refilled{Broke: h.broken}
			mine -= h.broken
			h.held -= h.broken
			h.broken = 0
			more := min(n-mine, h.room-h.held)
			mine += more
			h.held += more
			if mine < n {
				r.Refused = "sorry, too many clients already"
			}
			r.Held = mine
			return r
		},
		Release: func(context.Context) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.held -= mine
			mine = 0
			return nil
		}}
	if got < n {
		held.Refused = "sorry, too many clients already"
	}
	return held, nil
}

func (h *holdingDB) holding() int { h.mu.Lock(); defer h.mu.Unlock(); return h.held }

func (h *holdingDB) breakSome(n int) { h.mu.Lock(); defer h.mu.Unlock(); h.broken = n }

var errTooMany = &tooMany{}

type tooMany struct{}

func (*tooMany) Error() string { return "sorry, too many clients already" }

// TestDBConnectionsHeldForTheirDurationThenClosed: db-connections holds its
// connections (on the primary unless told), opening all but the first
// beside the timeline, says when the server refused some, dials again those
// a failover broke at its next check (a minute of AWS time later), and
// closes them when its duration ends.
func TestDBConnectionsHeldForTheirDurationThenClosed(t *testing.T) {
	f := newFleet()
	db := &holdingDB{room: 100}
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{{Kind: DBConnections, Connections: 120, Duration: 5 * time.Minute}}, c, f, pub{f}, logJournal{f}, 1)
	r.SetDatabase(db)
	r.Run(context.Background())
	waitFor(t, func() bool { return db.holding() == 100 })
	if len(db.asked) != 1 || db.asked[0] != DBPrimary {
		t.Fatalf("asked %q; want the primary", db.asked)
	}
	waitFor(t, func() bool {
		return strings.Contains(strings.Join(f.lines(), "\n"), "holds 100/120 connections to db; then it refused: sorry, too many clients already")
	})
	// keep says its line before it waits for its next check: advance
	// only once that wait is registered (the fault's duration, and keep's)
	checkWaits := func() { waitFor(t, func() bool { return c.Waiters() == 2 }) }
	checkWaits()
	db.breakSome(40)
	c.Advance(LeakyHealthCheck)
	waitFor(t, func() bool {
		return strings.Contains(strings.Join(f.lines(), "\n"), "40 of its connections to db broke (a failover or a restart); dialled again through the endpoint: holds 100/120")
	})
	if db.holding() != 100 {
		t.Fatalf("holding %d after the redial, want 100", db.holding())
	}
	checkWaits()
	c.Advance(5*time.Minute - LeakyHealthCheck - time.Second)
	if db.holding() != 100 {
		t.Fatal("closed early")
	}
	c.Advance(time.Second)
	waitFor(t, func() bool { return db.holding() == 0 })
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

// TestDBConnectionsDoNotHoldTheTimeline: the next action on the timeline
// happens at its time while the leaky client is still opening its
// connections (it opens them beside the timeline).
func TestDBConnectionsDoNotHoldTheTimeline(t *testing.T) {
	f := newFleet()
	db := &slowHoldingDB{holdingDB: holdingDB{room: 100}, gate: make(chan struct{})}
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{
		{Kind: DBConnections, Connections: 50, Duration: 5 * time.Minute},
		{At: time.Second, Kind: KillDB},
	}, c, f, pub{f}, logJournal{f}, 1)
	r.SetDatabase(db)
	done := make(chan struct{})
	go func() { r.Run(context.Background()); close(done) }()
	waitFor(t, func() bool { return db.holding() == 1 }) // the first, in apply
	c.Advance(time.Second)
	waitFor(t, func() bool { db.mu.Lock(); defer db.mu.Unlock(); return slices.Contains(db.log, "kill primary") })
	if db.holding() != 1 {
		t.Fatalf("holding %d before the slow fill was let go", db.holding())
	}
	close(db.gate)
	waitFor(t, func() bool { return db.holding() == 50 })
	r.RevertAll(context.Background(), "the run ended")
	<-done
	if db.holding() != 0 {
		t.Fatal("RevertAll left connections held")
	}
}

// slowHoldingDB fills (Refill) only once gate is closed, as a server slow
// to fork its backends would.
type slowHoldingDB struct {
	holdingDB
	gate chan struct{}
}

func (s *slowHoldingDB) HoldConnections(ctx context.Context, which string, n int) (Held, error) {
	h, err := s.holdingDB.HoldConnections(ctx, which, n)
	if err != nil {
		return h, err
	}
	refill := h.Refill
	h.Refill = func(ctx context.Context, n int) Refilled {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return Refilled{}
		}
		return refill(ctx, n)
	}
	return h, nil
}

func (s *slowHoldingDB) Kill(ctx context.Context, which string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holdingDB.Kill(ctx, which)
}

// TestDBConnectionsClosedByRevertAll: a run that ends early (Ctrl-C, a
// failed run) closes the connections; one the server refuses outright is
// not applied and leaves nothing to revert; a lab whose database cannot
// hold connections refuses the kind.
func TestDBConnectionsClosedByRevertAll(t *testing.T) {
	f := newFleet()
	db := &holdingDB{room: 10}
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	r.SetDatabase(db)
	if err := r.Inject(context.Background(), Action{Kind: DBConnections, DBInstance: "db-replica-1", Connections: 10, Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return db.holding() == 10 })
	if db.asked[0] != "db-replica-1" {
		t.Fatalf("asked %q", db.asked)
	}
	if err := r.Inject(context.Background(), Action{Kind: DBConnections, Connections: 5, Duration: time.Hour}); err == nil {
		t.Fatal("a fault the server refused outright was applied")
	}
	r.RevertAll(context.Background(), "interrupted")
	if db.holding() != 0 {
		t.Fatal("RevertAll left connections held")
	}
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
	if _, err := planDBConnections(hooks{db: &fakeDB{}}, Action{Kind: DBConnections, Connections: 1}, nil); err != errNoHolder {
		t.Fatalf("a database that cannot hold connections: %v", err)
	}
}
