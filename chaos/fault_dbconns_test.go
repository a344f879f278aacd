package chaos

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// holdingDB is a fakeDB whose instances take at most room connections; it
// counts what is held.
type holdingDB struct {
	fakeDB
	mu    sync.Mutex
	room  int
	held  int
	asked []string
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
	held := Held{Identifier: "db", Count: got,
		Alive: func(context.Context) int { h.mu.Lock(); defer h.mu.Unlock(); return h.held },
		Release: func(context.Context) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.held -= got
			return nil
		}}
	if got < n {
		held.Refused = "sorry, too many clients already"
	}
	return held, nil
}

func (h *holdingDB) holding() int { h.mu.Lock(); defer h.mu.Unlock(); return h.held }

var errTooMany = &tooMany{}

type tooMany struct{}

func (*tooMany) Error() string { return "sorry, too many clients already" }

// TestDBConnectionsHeldForTheirDurationThenClosed: db-connections holds its
// connections (on the primary unless told), says when the server refused
// some, and closes them when its duration ends.
func TestDBConnectionsHeldForTheirDurationThenClosed(t *testing.T) {
	f := newFleet()
	db := &holdingDB{room: 100}
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{{Kind: DBConnections, Connections: 120, Duration: 5 * time.Minute}}, c, f, pub{f}, logJournal{f}, 1)
	r.SetDatabase(db)
	r.Run(context.Background())
	if db.holding() != 100 || len(db.asked) != 1 || db.asked[0] != DBPrimary {
		t.Fatalf("holding %d, asked %q; want 100 on the primary", db.holding(), db.asked)
	}
	log := strings.Join(f.lines(), "\n")
	if !strings.Contains(log, "took 100 of the 120 connections asked; then it refused: sorry, too many clients already") {
		t.Fatalf("the refusal is not on record:\n%s", log)
	}
	c.Advance(5*time.Minute - time.Second)
	if db.holding() != 100 {
		t.Fatal("closed early")
	}
	c.Advance(time.Second)
	waitFor(t, func() bool { return db.holding() == 0 })
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
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
	if db.holding() != 10 || db.asked[0] != "db-replica-1" {
		t.Fatalf("holding %d, asked %q", db.holding(), db.asked)
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
