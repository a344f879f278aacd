package rds_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/rds"
)

// recorder keeps the tier's events in order.
type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) Publish(e events.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

func (r *recorder) all() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailoverMovesTheEndpoint kills a Multi-AZ pair's primary: the
// monitor sees it, the failover is announced in RDS's words, the old
// primary is fenced before the standby is promoted, the endpoint moves
// after RDS's 60 s (AWS time, at speed 60), an open connection through it
// breaks, a write through the same endpoint then succeeds and the write
// acknowledged before the failover is there; then a new standby is
// rebuilt and streams synchronously.
func TestFailoverMovesTheEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	clk, err := clock.NewScaled(60)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	tier, _, _, _ := startTierWith(t, pair, func(o *rds.Options) { o.Clock, o.Events = clk, rec })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep := tier.WriterEndpoint()
	if ep.Kind != rds.EndpointInstance || ep.Addr().String() != "127.0.0.230:5432" {
		t.Fatalf("endpoint %s %s at %s", ep.Kind, ep.Name, ep.Addr())
	}
	old, standby := tier.Servers()[0], tier.Servers()[1]
	c, err := pgx.Connect(ctx, tier.EndpointURL(ep))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "CREATE TABLE orders (id serial PRIMARY KEY, item text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO orders (item) VALUES ('acknowledged')"); err != nil {
		t.Fatal(err)
	}

	killed := time.Now()
	if err := tier.KillServer(ctx, old.Identifier); err != nil {
		t.Fatal(err)
	}
	var write time.Duration
	for { // the app's retry loop: a new connection each time through the endpoint
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		w, err := pgx.Connect(cctx, tier.EndpointURL(ep))
		if err == nil {
			_, err = w.Exec(cctx, "INSERT INTO orders (item) VALUES ('after')")
			w.Close(context.Background())
		}
		ccancel()
		if err == nil {
			write = time.Since(killed)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no write through the endpoint after the kill: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	aws := time.Duration(float64(write) * clk.Speed())
	t.Logf("first write through the endpoint %s (wall) = %s AWS after the primary's death", write.Round(time.Millisecond), aws.Round(time.Second))
	if aws < rds.InstanceFailoverTime {
		t.Errorf("the endpoint moved after %s AWS, before RDS's %s", aws, rds.InstanceFailoverTime)
	}
	if _, err := c.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("the connection opened before the failover still works")
	}
	if got := tier.Primary(); got.Identifier != standby.Identifier {
		t.Fatalf("primary after failover: %s, want %s", got.Identifier, standby.Identifier)
	}
	if ep.Targets()[0] != standby.AddrPort() {
		t.Fatalf("endpoint forwards to %v", ep.Targets())
	}
	n, err := pgx.Connect(ctx, tier.EndpointURL(ep))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	var items []string
	rows, _ := n.Query(ctx, "SELECT item FROM orders ORDER BY id")
	items, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(items, []string{"acknowledged", "after"}) {
		t.Fatalf("rows after failover: %v %v", items, err)
	}

	// The order of what happened, in RDS's words and the lab's steps.
	var seq []string
	for _, e := range rec.all() {
		switch e := e.(type) {
		case rds.RDSEvent:
			seq = append(seq, e.Text)
		case rds.FailoverStep:
			seq = append(seq, e.Step)
		}
	}
	want := []string{"Multi-AZ instance failover started", rds.StepDetected, rds.StepFenced, rds.StepPromoted, rds.StepMoved, "Multi-AZ instance failover completed"}
	if len(seq) < len(want) || !slices.Equal(seq[:len(want)], want) {
		t.Fatalf("events: %q, want first %q", seq, want)
	}

	// A new standby, in the lost primary's zone (healthy), streams
	// synchronously from the new primary.
	waitFor(t, time.Minute, "a rebuilt standby streaming sync", func() bool {
		rows, err := tier.Replication(ctx)
		return err == nil && len(rows) == 1 && rows[0].SyncState == "sync" && rows[0].State == "streaming"
	})
	servers := tier.Servers()
	if len(servers) != 2 || servers[1].Zone.Name != old.Zone.Name || servers[1].Identifier == old.Identifier {
		t.Fatalf("servers after rebuild: %+v", servers)
	}
	if _, err := n.Exec(ctx, "INSERT INTO orders (item) VALUES ('synchronous again')"); err != nil {
		t.Fatal(err)
	}
}
