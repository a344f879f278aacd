package rds_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// recorder keeps the tier's events in order.
type recorder struct {
	mu   sync.Mutex
	evs  []events.Event
	wall []time.Time // when each came
}

func (r *recorder) Publish(e events.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.wall = append(r.wall, time.Now())
	r.mu.Unlock()
}

// lastStep is when (wall) the last failover step named step came.
func (r *recorder) lastStep(step string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.evs) - 1; i >= 0; i-- {
		if e, ok := r.evs[i].(rds.FailoverStep); ok && e.Step == step {
			return r.wall[i]
		}
	}
	return time.Time{}
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

// TestMultiAZInstance runs one Multi-AZ DB instance (at speed 60) through
// what the tier does to it, each step a subtest on the same servers (they
// take most of the time): the pair as started; a failover of its killed
// primary; a promotion that fails after pg_promote() was sent, and one that
// fails before the target promoted; an outage of the primary's zone; and
// Close, which leaves nothing behind.
func TestMultiAZInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	clk, err := clock.NewScaled(60)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	tier, runID, dir, took := startTierWith(t, pairStack, func(o *rds.Options) { o.Clock, o.Events = clk, rec })
	t.Logf("Multi-AZ pair up in %s", took.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var pids []int
	ok := t.Run("pair", func(t *testing.T) { pids = checkPair(t, ctx, tier, runID) })
	ok = ok && t.Run("failover", func(t *testing.T) { checkFailover(t, ctx, tier, clk, rec) })
	ok = ok && t.Run("promotion failed after pg_promote was sent", func(t *testing.T) { checkPromotedAfterAll(t, ctx, tier, rec) })
	ok = ok && t.Run("promotion failed before the target promoted", func(t *testing.T) { checkPromotionNotSent(t, ctx, tier, rec) })
	ok = ok && t.Run("zone down", func(t *testing.T) { checkZoneDown(t, ctx, tier) })
	if ok {
		checkClosed(t, tier, runID, dir, pids)
	}
}

// checkPair: a primary and its synchronous standby in two zones; a row
// written on the primary is on the standby, which takes no write; the
// servers run as nobody when the lab is root.
func checkPair(t *testing.T, ctx context.Context, tier *rds.Tier, runID string) []int {
	servers := tier.Servers()
	if len(servers) != 2 || servers[0].AddrPort().String() != "127.0.1.200:15491" || servers[1].AddrPort().String() != "127.0.2.200:15491" {
		t.Fatalf("servers: %+v", servers)
	}
	rows, err := tier.Replication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (rds.Replication{Name: "web-db-standby", State: "streaming", SyncState: "sync"}) {
		t.Fatalf("pg_stat_replication: %+v", rows)
	}
	p, err := tier.Connect(ctx, servers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	// remote_apply: the commit returns once the standby has replayed it,
	// so the standby must show the row at once.
	if _, err := p.Exec(ctx, "SET synchronous_commit = remote_apply"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, "CREATE TABLE pair (id serial PRIMARY KEY, item text)"); err != nil {
		t.Fatal(err)
	}
	var id int
	if err := p.QueryRow(ctx, "INSERT INTO pair (item) VALUES ('tea') RETURNING id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	sb, err := tier.Connect(ctx, servers[1])
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(ctx)
	var item string
	var recovering bool
	if err := sb.QueryRow(ctx, "SELECT item, pg_is_in_recovery() FROM pair WHERE id = $1", id).Scan(&item, &recovering); err != nil {
		t.Fatalf("read the row on the standby: %v", err)
	}
	if item != "tea" || !recovering {
		t.Fatalf("standby: item %q, in recovery %v", item, recovering)
	}
	if _, err := sb.Exec(ctx, "INSERT INTO pair (item) VALUES ('coffee')"); err == nil {
		t.Fatal("the standby took a write")
	}
	pids := serverPIDs(t, runID)
	if len(pids) < 8 { // two postmasters and their children: checkpointer, walwriter, walsender, walreceiver, ...
		t.Fatalf("found %d server processes for %s", len(pids), runID)
	}
	if os.Geteuid() == 0 {
		for _, pid := range pids {
			if uid := procUID(pid); uid != process.Nobody {
				t.Errorf("pid %d runs as uid %d, want %d", pid, uid, process.Nobody)
			}
		}
	}
	return pids
}

// checkClosed closes the tier: no process, record or data directory is
// left, the servers' children included.
func checkClosed(t *testing.T, tier *rds.Tier, runID, dir string, pids []int) {
	t.Helper()
	if err := tier.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if left := serverPIDs(t, runID); len(left) > 0 {
		t.Errorf("processes left after Close: %v", left)
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("pid %d (a server or its child) outlived Close", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "rds")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory left: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "state", runID)); len(ents) > 0 {
		t.Errorf("records left: %v", ents)
	}
	if leftTmp, _ := filepath.Glob(filepath.Join(os.TempDir(), "lab-data-*")); len(leftTmp) > 0 {
		for _, d := range leftTmp {
			if b, _ := os.ReadFile(filepath.Join(d, "pgdata", "PG_VERSION")); len(b) > 0 {
				t.Errorf("a moved data directory is left: %s", d)
			}
		}
	}
}

// checkFailover kills the pair's primary: the monitor sees it, the failover
// is announced in RDS's words, the old primary is fenced before the standby
// is promoted, the endpoint moves after RDS's failover time (AWS time), an
// open connection through it breaks, a write through the same endpoint
// then succeeds and the write acknowledged before the failover is there;
// then a new standby is rebuilt and streams synchronously.
func checkFailover(t *testing.T, ctx context.Context, tier *rds.Tier, clk clock.Clock, rec *recorder) {
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
		var seen []string
		for _, e := range rec.all() {
			seen = append(seen, e.Message())
		}
		t.Fatalf("primary after failover: %s, want %s; events:\n%s", got.Identifier, standby.Identifier, strings.Join(seen, "\n"))
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
	rows, _ := n.Query(ctx, "SELECT item FROM orders ORDER BY id")
	items, err := pgx.CollectRows(rows, pgx.RowTo[string])
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
	waitSyncStandby(t, ctx, tier)
	servers := tier.Servers()
	if len(servers) != 2 || servers[1].Zone.Name != old.Zone.Name || servers[1].Identifier == old.Identifier {
		t.Fatalf("servers after rebuild: %+v", servers)
	}
	if _, err := n.Exec(ctx, "INSERT INTO orders (item) VALUES ('synchronous again')"); err != nil {
		t.Fatal(err)
	}
}

// waitSyncStandby waits until the pair is whole again: one standby
// streaming synchronously, which the monitor counts as a failover target.
func waitSyncStandby(t *testing.T, ctx context.Context, tier *rds.Tier) {
	t.Helper()
	waitFor(t, time.Minute, "a standby streaming sync", func() bool {
		rows, err := tier.Replication(ctx)
		return err == nil && len(rows) == 1 && rows[0].SyncState == "sync" && rows[0].State == "streaming" &&
			len(tier.Servers()) == 2 && len(tier.InSync()) == 1 && !tier.Failing()
	})
}

// writers are the servers among ss that answer as a primary.
func writers(ctx context.Context, tier *rds.Tier, ss ...rds.Server) []string {
	var out []string
	for _, s := range ss {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := tier.Connect(cctx, s)
		if err == nil {
			var recovering bool
			if c.QueryRow(cctx, "SELECT pg_is_in_recovery()").Scan(&recovering) == nil && !recovering {
				out = append(out, s.Identifier)
			}
			c.Close(context.Background())
		}
		cancel()
	}
	return out
}

// checkPromotedAfterAll: the promotion's answer is lost after pg_promote()
// was sent, and the target did promote. The old primary must not have the
// endpoint back (two writers); the target is fenced, found promoted on its
// data, started again, and the failover completes to it.
func checkPromotedAfterAll(t *testing.T, ctx context.Context, tier *rds.Tier, rec *recorder) {
	old, target := tier.Servers()[0], tier.Servers()[1]
	rds.SetPromoteHook(tier, func(ctx context.Context, to rds.Server) (bool, error) {
		c, err := tier.Connect(ctx, to)
		if err != nil {
			return false, err
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "SELECT pg_promote(true)"); err != nil { // it promotes ...
			return true, err
		}
		return true, errors.New("the connection broke after pg_promote()") // ... and its answer is lost
	})
	defer rds.SetPromoteHook(tier, nil)
	from := len(rec.all())
	killAndWrite(t, ctx, tier, old.Identifier)
	waitFor(t, time.Minute, "the failover over", func() bool { return !tier.Failing() && tier.Primary().Identifier == target.Identifier })
	if w := writers(ctx, tier, old, target); !slices.Equal(w, []string{target.Identifier}) {
		t.Fatalf("writers %v, want only %s", w, target.Identifier)
	}
	if ts := tier.WriterEndpoint().Targets(); len(ts) != 1 || ts[0] != target.AddrPort() {
		t.Fatalf("the endpoint forwards to %v, want %s", ts, target.AddrPort())
	}
	var steps []string
	for _, e := range rec.all()[from:] {
		if e, ok := e.(rds.FailoverStep); ok && e.Step != rds.StepRebuilt {
			steps = append(steps, e.Step)
		}
	}
	if !slices.Contains(steps, rds.StepPromoted) || slices.Contains(steps, rds.StepFailed) {
		t.Fatalf("steps %q: want the failover completed to %s", steps, target.Identifier)
	}
	waitSyncStandby(t, ctx, tier)
}

// checkPromotionNotSent: the promotion fails with pg_promote() possibly
// sent, but the target never promoted: it is fenced, still holds
// standby.signal, so the old primary boots again and has the endpoint back
// (RDS-EVENT-0065), and the target streams from it again.
func checkPromotionNotSent(t *testing.T, ctx context.Context, tier *rds.Tier, rec *recorder) {
	old, target := tier.Servers()[0], tier.Servers()[1]
	rds.SetPromoteHook(tier, func(context.Context, rds.Server) (bool, error) {
		return true, errors.New("the connection broke while pg_promote() was sent")
	})
	defer rds.SetPromoteHook(tier, nil)
	from := len(rec.all())
	killAndWrite(t, ctx, tier, old.Identifier)
	if p := tier.Primary(); p.Identifier != old.Identifier {
		t.Fatalf("primary %s, want %s back", p.Identifier, old.Identifier)
	}
	if w := writers(ctx, tier, old, target); !slices.Equal(w, []string{old.Identifier}) {
		t.Fatalf("writers %v, want only %s", w, old.Identifier)
	}
	var texts []string
	for _, e := range rec.all()[from:] {
		if e, ok := e.(rds.RDSEvent); ok {
			texts = append(texts, e.EventID+" "+e.Text)
		}
	}
	if !slices.Contains(texts, "RDS-EVENT-0065 The instance has recovered from a partial failover.") {
		t.Fatalf("events %q: want RDS-EVENT-0065", texts)
	}
	waitSyncStandby(t, ctx, tier) // the target, started again, streams from the old primary
	if s := tier.Servers(); s[1].Identifier != target.Identifier {
		t.Fatalf("servers %+v", s)
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

// TestMultiAZCluster runs a Multi-AZ DB cluster with a read replica (at
// speed 60) on the same servers through: the cluster as started (two
// readers acknowledging as a quorum of one, the replica streaming
// asynchronously); a failover of its killed writer; and a second failover
// right after, while a reader is being built again.
func TestMultiAZCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	clk, _ := clock.NewScaled(60)
	rec := &recorder{}
	var rt rds.Runtime
	tier, _, _, took := startTierWith(t, clusterStack+"  read_replicas: [{availability_zone: us-east-1a}]\n", func(o *rds.Options) {
		o.Clock, o.Events, rt = clk, rec, o.Runtime
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	})
	t.Logf("cluster and replica up in %s", took.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ok := t.Run("cluster and replica", func(t *testing.T) { checkClusterAndReplica(t, ctx, tier) })
	ok = ok && t.Run("failover", func(t *testing.T) { checkClusterFailover(t, ctx, tier, clk, rec) })
	ok = ok && t.Run("second failover while a reader is built", func(t *testing.T) {
		longtest.Skip(t, "a second cluster failover and two readers rebuilt, about 15 s; TestServerListHasOneOwner checks the list's owner without PostgreSQL")
		checkSecondFailover(t, ctx, tier, rt)
	})
	ok = ok && t.Run("a replica that cannot follow is replaced", func(t *testing.T) { checkReplaced(t, ctx, tier, rec) })
}

// checkReplaced: a server that cannot follow the new primary (it holds WAL
// past its timeline) is built again from it under the same identifier and
// address, in RDS's words (RDS-EVENT-0045, then 0046), and streams again:
// a row written on the writer reaches it.
func checkReplaced(t *testing.T, ctx context.Context, tier *rds.Tier, rec *recorder) {
	var rep rds.Server
	for _, s := range tier.Servers() {
		if s.Role == stack.RoleReadReplica {
			rep = s
		}
	}
	from := len(rec.all())
	rds.Replace(tier, rep.Identifier)
	var texts []string
	for _, e := range rec.all()[from:] {
		if e, ok := e.(rds.RDSEvent); ok && e.SourceID == rep.Identifier {
			texts = append(texts, e.EventID+" "+e.Text)
		}
	}
	want := []string{"RDS-EVENT-0045 Replication has stopped.", "RDS-EVENT-0046 Replication for the Read Replica resumed."}
	if !slices.Equal(texts, want) {
		t.Fatalf("events %q, want %q", texts, want)
	}
	after := slices.IndexFunc(tier.Servers(), func(s rds.Server) bool { return s.Identifier == rep.Identifier })
	if after < 0 || tier.Servers()[after].AddrPort() != rep.AddrPort() || tier.Servers()[after].Source != tier.Primary().Identifier {
		t.Fatalf("after the replacement: %+v", tier.Servers())
	}
	w, err := pgx.Connect(ctx, tier.EndpointURL(tier.WriterEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	if _, err := w.Exec(ctx, "CREATE TABLE replaced (x int); INSERT INTO replaced VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	r, err := tier.Connect(ctx, rep)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	waitFor(t, 30*time.Second, "the row on the replaced replica", func() bool {
		var x int
		return r.QueryRow(ctx, "SELECT x FROM replaced").Scan(&x) == nil && x == 7
	})
}

// checkClusterAndReplica: the writer's two readers acknowledge as a quorum
// of one, the replica streams asynchronously, and a row written on the
// writer reaches the replica.
func checkClusterAndReplica(t *testing.T, ctx context.Context, tier *rds.Tier) {
	servers := tier.Servers()
	want := []string{"127.0.1.200:15492", "127.0.2.200:15492", "127.0.3.200:15492", "127.0.1.201:15492"}
	for i, s := range servers {
		if s.AddrPort().String() != want[i] {
			t.Errorf("server %s at %s, want %s", s.Identifier, s.AddrPort(), want[i])
		}
	}
	rows, err := tier.Replication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []rds.Replication{
		{Name: "web-db-reader-1", State: "streaming", SyncState: "quorum"},
		{Name: "web-db-reader-2", State: "streaming", SyncState: "quorum"},
		{Name: "web-db-replica-1", State: "streaming", SyncState: "async"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Fatalf("pg_stat_replication: %+v", rows)
	}
	w, err := tier.Connect(ctx, servers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	if _, err := w.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	r, err := tier.Connect(ctx, servers[3])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	var x int
	for { // asynchronous: the row arrives when the replica has replayed it
		err := r.QueryRow(ctx, "SELECT x FROM t").Scan(&x)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the row never reached the replica: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if x != 42 {
		t.Fatalf("replica read %d", x)
	}
}

// checkClusterFailover kills the cluster's writer: a reader is promoted
// (the one that replayed most), announced in RDS's words for a cluster,
// the writer endpoint moves to it after RDS's 35 s, the reader endpoint no
// longer sends reads to it, and a third reader is rebuilt.
func checkClusterFailover(t *testing.T, ctx context.Context, tier *rds.Tier, clk clock.Clock, rec *recorder) {
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
			if e, ok := e.(rds.RDSEvent); ok && e.Category == "failover" {
				texts = append(texts, e.EventID+" "+e.Text)
			}
		}
		return len(texts) >= 2
	})
	want := []string{"RDS-EVENT-0073 Started cross AZ failover to DB instance: " + p.Identifier, "RDS-EVENT-0071 Completed failover to DB instance: " + p.Identifier}
	if !slices.Equal(texts, want) {
		t.Fatalf("RDS events %q, want %q", texts, want)
	}
	waitReaders(t, ctx, tier)
}

// waitReaders waits until two readers stream in quorum (and the replica
// streams), both counted by the monitor, and the reader endpoint is over
// both.
func waitReaders(t *testing.T, ctx context.Context, tier *rds.Tier) {
	t.Helper()
	waitFor(t, time.Minute, "two readers streaming in quorum", func() bool {
		rows, err := tier.Replication(ctx)
		quorum := 0
		for _, r := range rows {
			if r.State == "streaming" && r.SyncState == "quorum" {
				quorum++
			}
		}
		return err == nil && quorum == 2 && len(rows) == 3 && len(tier.InSync()) == 2 && !tier.Failing()
	})
	if n := len(tier.ReaderEndpoint().Targets()); n != 2 {
		t.Fatalf("reader endpoint over %d readers after the rebuild, want 2", n)
	}
}

// checkSecondFailover kills the new writer as soon as a reader streams from
// it, while the reader lost in the first failover is still being built:
// the cluster fails over again, and however the build and the failover
// meet, every server the runtime runs is one of the tier's (a built reader
// never drops out of the list and keeps running) and the cluster is whole
// again: a writer, two readers in quorum, the replica.
func checkSecondFailover(t *testing.T, ctx context.Context, tier *rds.Tier, rt rds.Runtime) {
	first := tier.Primary()
	killAndWrite(t, ctx, tier, first.Identifier)
	waitFor(t, 10*time.Second, "a standby in sync with the second writer", func() bool { return len(tier.InSync()) > 0 && !tier.Failing() })
	second := tier.Primary()
	if second.Identifier == first.Identifier {
		t.Fatalf("the writer is still %s", first.Identifier)
	}
	killAndWrite(t, ctx, tier, second.Identifier)
	waitReaders(t, ctx, tier)
	if p := tier.Primary(); p.Identifier == second.Identifier || p.Identifier == first.Identifier {
		t.Fatalf("writer %s after two failovers", p.Identifier)
	}
	list, err := rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, s := range tier.Servers() {
		ids[string(s.ID)] = true
	}
	for _, in := range list {
		if (in.State == az.StateRunning || in.State == az.StatePending) && !ids[string(in.ID)] {
			t.Errorf("%s runs but is not one of the tier's servers %v", in.ID, ids)
		}
	}
	if n := len(tier.Servers()); n != 4 {
		t.Fatalf("%d servers, want a writer, two readers and the replica: %+v", n, tier.Servers())
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
// 20; LAB_RDS_ROUNDS, default 3; LAB_RDS_KIND, "instance" or "cluster" for
// one of them), the time from a primary's death to the first successful
// write through the endpoint, in AWS seconds, for a Multi-AZ DB instance
// and a Multi-AZ DB cluster (bench/dbfailover.sh), and each step's wall
// milliseconds after the kill. Its servers take ports of their own (155xx),
// so that it runs beside the live tests.
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
		if k := os.Getenv("LAB_RDS_KIND"); k != "" && !strings.HasSuffix(c.name, k) {
			continue
		}
		c.src = strings.Replace(c.src, "port: 154", "port: 155", 1)
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
			killed := time.Now()
			w := killAndWrite(t, ctx, tier, tier.Primary().Identifier)
			wrote := killed.Add(w)
			ms := func(step string) int64 { return rec.lastStep(step).Sub(killed).Milliseconds() }
			got = append(got, fmt.Sprintf("%.1f s (kill to detection %.1f, endpoint move to first write %.1f; wall ms after the kill: detected %d, fenced %d, promoted %d, moved %d, written %d)", w.Seconds()*speed,
				rec.lastStep(rds.StepDetected).Sub(killed).Seconds()*speed, wrote.Sub(rec.lastStep(rds.StepMoved)).Seconds()*speed,
				ms(rds.StepDetected), ms(rds.StepFenced), ms(rds.StepPromoted), ms(rds.StepMoved), w.Milliseconds()))
		}
		cancel()
		var steps []string
		for _, e := range rec.all() {
			if e, ok := e.(rds.FailoverStep); ok && e.Step != rds.StepRebuilt {
				steps = append(steps, fmt.Sprintf("%s %.1f", e.Step, e.At))
			}
		}
		t.Logf("%s at speed %g: death to first write through the endpoint %v AWS (AWS: %s); steps (AWS s from the failure): %s",
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
// paused misses what the primary commits meanwhile; promoted (RDS's
// PromoteReadReplica), it becomes a standalone DB instance, writable at its
// own endpoint, without it. The source is untouched: it keeps its role,
// its endpoint and its writes, and from then on the two part ways (what
// each acknowledges the other never sees).
func TestReplicaPromotionLosesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	longtest.Skip(t, "the replica-promotion scenario's loss, which `make scenarios` runs through the lab")
	clk, _ := clock.NewScaled(60)
	rec := &recorder{}
	tier, _, _, _ := startTierWith(t, replicaStack, func(o *rds.Options) { o.Clock = clk; o.Events = rec })
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
	direct, err := tier.Connect(ctx, replica) // a client that reached the replica by its address
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(context.Background())
	// pg_promote() goes out, and its answer is lost (the poll's connection
	// broke): the replica promotes all the same, and the promotion is
	// finished as one, not left a read replica that writes
	rds.SetPromoteHook(tier, func(ctx context.Context, to rds.Server) (bool, error) {
		c, err := tier.Connect(ctx, to)
		if err != nil {
			return false, err
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "SELECT pg_promote(false)"); err != nil {
			return false, err
		}
		return true, errors.New("the poll's connection broke")
	})
	defer rds.SetPromoteHook(tier, nil)
	if err := tier.PromoteReadReplica(ctx, replica.Identifier); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rec.all(), func(e events.Event) bool {
		s, ok := e.(rds.FailoverStep)
		return ok && s.Step == rds.StepPromoted && strings.Contains(s.Detail, "late: the poll's connection broke")
	}) {
		t.Fatal("a promotion whose answer was lost is not finished as a late one")
	}
	if _, err := direct.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a session on the replica outlived its reboot into a standalone DB instance")
	}
	// The source is untouched: still the primary, its endpoint on it, and
	// the application's open connection through it still writes.
	if p := tier.Primary(); p.Identifier != old.Identifier || tier.WriterEndpoint().Targets()[0] != old.AddrPort() {
		t.Fatalf("writer %s at %v after the promotion, want %s untouched", p.Identifier, tier.WriterEndpoint().Targets(), old.Identifier)
	}
	if _, err := w.Exec(ctx, "INSERT INTO t VALUES ('on the source after the promotion')"); err != nil {
		t.Fatalf("the source no longer takes writes through its endpoint: %v", err)
	}
	var got rds.Server
	for _, s := range tier.Servers() {
		if s.Identifier == replica.Identifier {
			got = s
		}
	}
	if got.Role != rds.RoleStandalone || got.Source != "" {
		t.Fatalf("the promoted replica is %+v, want a standalone DB instance that streams from nothing", got)
	}
	e := tier.ReplicaEndpoint(replica.Identifier)
	if e == nil || len(e.Targets()) != 1 || e.Targets()[0] != replica.AddrPort() {
		t.Fatalf("the promoted instance's own endpoint: %+v", e)
	}
	n, err := pgx.Connect(ctx, tier.EndpointURL(e))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	rowsOf := func(c *pgx.Conn) []string {
		rows, _ := c.Query(ctx, "SELECT x FROM t ORDER BY x")
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := rowsOf(n); !slices.Equal(got, []string{"before"}) {
		t.Fatalf("the promoted replica holds %q, want only the row it had before its replication paused", got)
	}
	if _, err := n.Exec(ctx, "INSERT INTO t VALUES ('on the promoted instance')"); err != nil {
		t.Fatalf("the promoted instance takes no writes at its endpoint: %v", err)
	}
	if got, want := rowsOf(w), []string{"acknowledged while the replica lags", "before", "on the source after the promotion"}; !slices.Equal(got, want) {
		t.Fatalf("the source holds %q, want %q: the two part ways", got, want)
	}
	if note, err := resume(ctx); err != nil || !strings.Contains(note, "promoted meanwhile") {
		t.Fatalf("resume after the promotion: %q %v", note, err)
	}
	if rows, err := tier.Replication(ctx); err != nil || len(rows) != 0 {
		t.Fatalf("the promoted instance streams from the source again: %+v %v", rows, err)
	}
	var texts []string
	for _, e := range rec.all() {
		if e, ok := e.(rds.RDSEvent); ok {
			texts = append(texts, e.EventID+" "+e.Text)
		}
	}
	if !slices.ContainsFunc(texts, func(s string) bool { return strings.HasPrefix(s, "RDS-EVENT-0006 DB instance restarted") }) ||
		!slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, "Read replica promoted to a standalone DB instance") }) ||
		slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, "failover") }) {
		t.Fatalf("the promotion's events: %q", texts)
	}
}

// checkZoneDown: the primary's zone goes down (an az-outage): its server
// dies with it, the standby in the other zone is promoted and the endpoint
// moves; with no healthy free zone the standby waits, and once the zone is
// back a new standby is built there and made synchronous.
func checkZoneDown(t *testing.T, ctx context.Context, tier *rds.Tier) {
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
	if _, err := w.Exec(ctx, "CREATE TABLE zone (x int)"); err != nil { // no standby: commits do not wait for one
		t.Fatal(err)
	}
	tier.ZoneUp(old.Zone.Name)
	waitFor(t, time.Minute, "a standby rebuilt in the zone that came back, streaming sync", func() bool {
		rows, err := tier.Replication(ctx)
		s := tier.Servers()
		return err == nil && len(rows) == 1 && rows[0].SyncState == "sync" && len(s) == 2 && s[1].Zone.Name == old.Zone.Name
	})
	if _, err := w.Exec(ctx, "INSERT INTO zone VALUES (1)"); err != nil {
		t.Fatal(err)
	}
}
