package rds_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/longtest"
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
// after RDS's failover time (AWS time, at speed 60), an open connection through it
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
	tier, _, _, _ := startTierWith(t, pairStack, func(o *rds.Options) { o.Clock, o.Events = clk, rec })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep := tier.WriterEndpoint()
	if ep.Kind != rds.EndpointInstance || ep.Addr().String() != "127.0.0.230:15491" {
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

	write := killAndWrite(t, ctx, tier, old.Identifier)
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
	if _, err := n.Exec(ctx, "INSERT INTO orders (item) VALUES ('after')"); err != nil {
		t.Fatal(err)
	}
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

// killAndWrite kills the DB instance id and returns how long (wall) it
// took until a write through the writer endpoint succeeded: the app's
// retry loop, a new connection each time, as a pool after a failover.
func killAndWrite(t *testing.T, ctx context.Context, tier *rds.Tier, id string) time.Duration {
	t.Helper()
	ep := tier.WriterEndpoint()
	c, err := pgx.Connect(ctx, tier.EndpointURL(ep))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS beats (at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	killed := time.Now()
	if err := tier.KillServer(ctx, id); err != nil {
		t.Fatal(err)
	}
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		w, err := pgx.Connect(cctx, tier.EndpointURL(ep))
		if err == nil {
			_, err = w.Exec(cctx, "INSERT INTO beats VALUES (now())")
			w.Close(context.Background())
		}
		ccancel()
		if err == nil {
			return time.Since(killed)
		}
		if ctx.Err() != nil {
			t.Fatalf("no write through the endpoint after the kill: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClusterFailover kills a Multi-AZ DB cluster's writer: a reader is
// promoted (the one that replayed most), announced in RDS's words for a
// cluster, the writer endpoint moves to it after RDS's 35 s, the reader
// endpoint no longer sends reads to it, and a third reader is rebuilt.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	clk, _ := clock.NewScaled(60)
	rec := &recorder{}
	tier, _, _, _ := startTierWith(t, clusterStack, func(o *rds.Options) { o.Clock, o.Events = clk, rec })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	old := tier.Servers()[0]
	write := killAndWrite(t, ctx, tier, old.Identifier)
	aws := time.Duration(float64(write) * clk.Speed())
	t.Logf("cluster: first write through the writer endpoint %s AWS after the writer's death", aws.Round(time.Second))
	if aws < rds.ClusterFailoverTime {
		t.Errorf("moved after %s AWS, before RDS's %s", aws, rds.ClusterFailoverTime)
	}
	p := tier.Primary()
	if p.Identifier == old.Identifier || tier.WriterEndpoint().Targets()[0] != p.AddrPort() {
		t.Fatalf("writer %s, endpoint %v", p.Identifier, tier.WriterEndpoint().Targets())
	}
	for _, a := range tier.ReaderEndpoint().Targets() {
		if a == p.AddrPort() || a == old.AddrPort() {
			t.Fatalf("the reader endpoint still sends reads to %s", a)
		}
	}
	var texts []string
	waitFor(t, 10*time.Second, "the failover's events", func() bool { // published just after the move
		texts = nil
		for _, e := range rec.all() {
			if e, ok := e.(rds.RDSEvent); ok {
				texts = append(texts, e.EventID+" "+e.Text)
			}
		}
		return len(texts) >= 2
	})
	want := []string{"RDS-EVENT-0073 Started cross AZ failover to DB instance: " + p.Identifier, "RDS-EVENT-0071 Completed failover to DB instance: " + p.Identifier}
	if !slices.Equal(texts, want) {
		t.Fatalf("RDS events %q, want %q", texts, want)
	}
	waitFor(t, time.Minute, "two readers streaming in quorum", func() bool {
		rows, err := tier.Replication(ctx)
		return err == nil && len(rows) == 2 && rows[0].SyncState == "quorum" && rows[1].SyncState == "quorum"
	})
	if n := len(tier.ReaderEndpoint().Targets()); n != 2 {
		t.Fatalf("reader endpoint over %d readers after the rebuild, want 2", n)
	}
}

// The failover tests' stacks take ports of their own: other tests (and
// labs) on this host use 5432.
const clusterStack = `name: web
target_group: {port: 8080}
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
database:
  engine: postgres
  db_cluster_instance_class: db.m5d.large
  storage_type: gp3
  port: 15492
`

const pairStack = pair + "  port: 15491\n"

// TestMeasureFailover measures, LAB_RDS_MEASURE=1 (LAB_RDS_SPEED, default
// 20; LAB_RDS_ROUNDS, default 3), the time from a primary's death to the
// first successful write through the endpoint, in AWS seconds, for a
// Multi-AZ DB instance and a Multi-AZ DB cluster (bench/dbfailover.sh).
func TestMeasureFailover(t *testing.T) {
	if os.Getenv("LAB_RDS_MEASURE") == "" {
		t.Skip("LAB_RDS_MEASURE=1 measures failovers")
	}
	speed, rounds := 20.0, 3
	if v, err := strconv.ParseFloat(os.Getenv("LAB_RDS_SPEED"), 64); err == nil {
		speed = v
	}
	if v, err := strconv.Atoi(os.Getenv("LAB_RDS_ROUNDS")); err == nil {
		rounds = v
	}
	for _, c := range []struct {
		name, src string
		aws       string
	}{{"Multi-AZ DB instance", pairStack, "typically 60-120 s"}, {"Multi-AZ DB cluster", clusterStack, "typically under 35 s"}} {
		clk, _ := clock.NewScaled(speed)
		rec := &recorder{}
		tier, _, _, _ := startTierWith(t, c.src, func(o *rds.Options) { o.Clock, o.Events = clk, rec })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		var got []string
		for i := range rounds {
			if i > 0 { // the next round waits for a rebuilt standby
				want := map[string]int{"Multi-AZ DB instance": 1, "Multi-AZ DB cluster": 2}[c.name]
				waitFor(t, 2*time.Minute, "the standbys back", func() bool {
					rows, err := tier.Replication(ctx)
					n := 0
					for _, r := range rows {
						if r.State == "streaming" && (r.SyncState == "sync" || r.SyncState == "quorum") {
							n++
						}
					}
					return err == nil && n == want && len(tier.Servers()) == want+1 && !tier.Failing() && len(tier.InSync()) == want
				})

			}
			w := killAndWrite(t, ctx, tier, tier.Primary().Identifier)
			got = append(got, fmt.Sprintf("%.1f s", w.Seconds()*speed))
		}
		cancel()
		var steps []string
		for _, e := range rec.all() {
			if e, ok := e.(rds.FailoverStep); ok && e.Step != rds.StepRebuilt {
				steps = append(steps, fmt.Sprintf("%s %.1f", e.Step, e.At))
			}
		}
		t.Logf("%s at speed %g: death to first write through the endpoint %v AWS (AWS: %s); steps (AWS s from detection): %s",
			c.name, speed, got, c.aws, strings.Join(steps, ", "))
		tier.Close()
	}
}

const replicaStack = `name: web
target_group: {port: 8080}
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
database:
  engine: postgres
  db_instance_class: db.t3.micro
  read_replicas: [{}]
  port: 15493
`

// TestReplicaPromotionLosesWrites: a read replica whose replication is
// paused misses what the primary commits meanwhile; promoted, it becomes
// the writer without it (the old primary fenced first); the endpoint moves.
func TestReplicaPromotionLosesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	longtest.Skip(t, "the replica-promotion scenario's loss, which `make scenarios` runs through the lab")
	clk, _ := clock.NewScaled(60)
	tier, _, _, _ := startTierWith(t, replicaStack, func(o *rds.Options) { o.Clock = clk })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	old, replica := tier.Servers()[0], tier.Servers()[1]
	w, err := pgx.Connect(ctx, tier.EndpointURL(tier.WriterEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	if _, err := w.Exec(ctx, "CREATE TABLE t (x text); INSERT INTO t VALUES ('before')"); err != nil {
		t.Fatal(err)
	}
	r, err := tier.Connect(ctx, replica)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the replica has the first row", func() bool {
		var n int
		return r.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n) == nil && n == 1
	})
	r.Close(ctx)
	resume, err := tier.PauseReplication(ctx, replica.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the replica gone from pg_stat_replication", func() bool {
		rows, err := tier.Replication(ctx)
		return err == nil && len(rows) == 0
	})
	if _, err := w.Exec(ctx, "INSERT INTO t VALUES ('acknowledged while the replica lags')"); err != nil {
		t.Fatal(err)
	}
	if err := tier.PromoteReadReplica(ctx, replica.Identifier); err != nil {
		t.Fatal(err)
	}
	if p := tier.Primary(); p.Identifier != replica.Identifier || tier.WriterEndpoint().Targets()[0] != replica.AddrPort() {
		t.Fatalf("writer %s at %v after the promotion", p.Identifier, tier.WriterEndpoint().Targets())
	}
	if c, err := net.DialTimeout("tcp", old.AddrPort().String(), time.Second); err == nil { // fenced: nothing listens there
		c.Close()
		t.Fatalf("the old primary %s still listens at %s", old.Identifier, old.AddrPort())
	}
	n, err := pgx.Connect(ctx, tier.EndpointURL(tier.WriterEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	rows, _ := n.Query(ctx, "SELECT x FROM t ORDER BY x")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(got, []string{"before"}) {
		t.Fatalf("the promoted replica holds %q (%v), want only the row it had before its replication paused", got, err)
	}
	if _, err := n.Exec(ctx, "INSERT INTO t VALUES ('on the new writer')"); err != nil {
		t.Fatal(err)
	}
	if note, err := resume(ctx); err != nil || !strings.Contains(note, "promoted meanwhile") {
		t.Fatalf("resume after the promotion: %q %v", note, err)
	}
}

// TestZoneDownFailsOver: the primary's zone goes down (an az-outage): its
// server dies with it, the standby in the other zone is promoted and the
// endpoint moves; with no healthy free zone the standby waits, and once
// the zone is back a new standby is built there and made synchronous.
func TestZoneDownFailsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	clk, _ := clock.NewScaled(60)
	rec := &recorder{}
	tier, _, _, _ := startTierWith(t, pairStack, func(o *rds.Options) { o.Clock, o.Events = clk, rec })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	old, standby := tier.Servers()[0], tier.Servers()[1]
	killed, err := tier.ZoneDown(ctx, old.Zone.Name)
	if err != nil || !slices.Equal(killed, []string{old.Identifier}) {
		t.Fatalf("zone down killed %v (%v)", killed, err)
	}
	waitFor(t, time.Minute, "the failover to the other zone", func() bool {
		return tier.Primary().Identifier == standby.Identifier && !tier.Failing() && len(tier.WriterEndpoint().Targets()) == 1
	})
	if len(tier.Servers()) != 1 {
		t.Fatalf("a standby was built in a zone that is down or beside the primary: %+v", tier.Servers())
	}
	w, err := pgx.Connect(ctx, tier.EndpointURL(tier.WriterEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	if _, err := w.Exec(ctx, "CREATE TABLE t (x int)"); err != nil { // no standby: commits do not wait for one
		t.Fatal(err)
	}
	tier.ZoneUp(old.Zone.Name)
	waitFor(t, time.Minute, "a standby rebuilt in the zone that came back, streaming sync", func() bool {
		rows, err := tier.Replication(ctx)
		s := tier.Servers()
		return err == nil && len(rows) == 1 && rows[0].SyncState == "sync" && len(s) == 2 && s[1].Zone.Name == old.Zone.Name
	})
	if _, err := w.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
}
