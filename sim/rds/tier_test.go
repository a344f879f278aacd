package rds_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == process.ShimArg { // this binary as the shim, as `lab drop-privileges`
		os.Exit(process.Shim(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// pair is a Multi-AZ DB instance in two zones.
const pair = `name: web
availability_zones: [us-east-1a, us-east-1b]
target_group: {port: 8080}
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
database:
  engine: postgres
  db_instance_class: db.t3.micro
  multi_az: true
  db_name: shop
  username: shopadmin
`

// startPair starts the pair through a process runtime of its own, as the
// lab does, and says how long it took.
func startPair(t *testing.T) (*rds.Tier, string, string, time.Duration) {
	t.Helper()
	return startTier(t, pair)
}

// startTier starts the database of the stack file src.
func startTier(t *testing.T, src string) (*rds.Tier, string, string, time.Duration) {
	t.Helper()
	return startTierWith(t, src, nil)
}

// startTierWith starts the database of src with options set by with.
func startTierWith(t *testing.T, src string, with func(*rds.Options)) (*rds.Tier, string, string, time.Duration) {
	t.Helper()
	in, err := rds.Find()
	if err != nil {
		if os.Getenv("LAB_REQUIRE_POSTGRES") != "" {
			t.Fatal(err)
		}
		t.Skipf("%v (make test-deps installs it)", err)
	}
	s, err := stack.Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	zones, err := az.NewZones(s.Zones)
	if err != nil {
		t.Fatal(err)
	}
	if exe, err := os.Executable(); err == nil && os.Geteuid() == 0 {
		process.UseShim([]string{exe, process.ShimArg})
		t.Cleanup(func() { process.UseShim(nil) })
	}
	dir := t.TempDir()
	runID := fmt.Sprintf("rdstest-%d.rds", os.Getpid())
	state := filepath.Join(dir, "state")
	rt, err := process.New(process.Options{RunID: runID, StateDir: state, LogDir: filepath.Join(dir, "logs")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	o := rds.Options{Database: s.Database, Zones: zones, Install: in, Runtime: rt,
		Dir: filepath.Join(dir, "run", "rds"), LogDir: filepath.Join(dir, "logs"),
		EndpointBase: netip.MustParseAddr("127.0.0.230")} // apart from a lab's .200 on this host
	if with != nil {
		with(&o)
	}
	tier, err := rds.Start(ctx, o)
	if err != nil {
		rt.Close()
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Cleanup(func() { tier.Close() })
	return tier, runID, dir, took
}

// TestMultiAZPair starts a primary and its synchronous standby in two
// zones, writes on the primary and reads the row on the standby, checks
// pg_stat_replication, then closes the tier and checks that no process,
// record or data directory is left.
func TestMultiAZPair(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	tier, runID, dir, took := startPair(t)
	t.Logf("Multi-AZ pair up in %s", took.Round(time.Millisecond))
	servers := tier.Servers()
	if len(servers) != 2 || servers[0].AddrPort().String() != "127.0.1.200:5432" || servers[1].AddrPort().String() != "127.0.2.200:5432" {
		t.Fatalf("servers: %+v", servers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

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
	if _, err := p.Exec(ctx, "CREATE TABLE orders (id serial PRIMARY KEY, item text)"); err != nil {
		t.Fatal(err)
	}
	var id int
	if err := p.QueryRow(ctx, "INSERT INTO orders (item) VALUES ('tea') RETURNING id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	sb, err := tier.Connect(ctx, servers[1])
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(ctx)
	var item string
	var recovering bool
	if err := sb.QueryRow(ctx, "SELECT item, pg_is_in_recovery() FROM orders WHERE id = $1", id).Scan(&item, &recovering); err != nil {
		t.Fatalf("read the row on the standby: %v", err)
	}
	if item != "tea" || !recovering {
		t.Fatalf("standby: item %q, in recovery %v", item, recovering)
	}
	if _, err := sb.Exec(ctx, "INSERT INTO orders (item) VALUES ('coffee')"); err == nil {
		t.Fatal("the standby took a write")
	}
	// The servers run as nobody when the lab is root, in the run's records.
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
	p.Close(ctx)
	sb.Close(ctx)

	if err := tier.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if left := serverPIDs(t, runID); len(left) > 0 {
		t.Errorf("processes left after Close: %v", left)
	}
	for _, pid := range pids { // the servers' children too
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

// TestClusterAndReplica starts a Multi-AZ DB cluster and a read replica:
// the writer's two readers acknowledge as a quorum of one, the replica
// streams asynchronously, and a row written on the writer reaches the
// replica.
func TestClusterAndReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	tier, _, _, took := startTier(t, `name: web
target_group: {port: 8080}
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
database:
  engine: postgres
  db_cluster_instance_class: db.m5d.large
  storage_type: gp3
  read_replicas: [{availability_zone: us-east-1a}]
`)
	t.Logf("cluster and replica up in %s", took.Round(time.Millisecond))
	servers := tier.Servers()
	want := []string{"127.0.1.200:5432", "127.0.2.200:5432", "127.0.3.200:5432", "127.0.1.201:5432"}
	for i, s := range servers {
		if s.AddrPort().String() != want[i] {
			t.Errorf("server %s at %s, want %s", s.Identifier, s.AddrPort(), want[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
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

// TestMeasurePair measures an idle Multi-AZ pair: its start-up time, and
// its memory (PSS, so shared buffers count once) and CPU over 30 s. Run it
// with LAB_RDS_MEASURE=1.
func TestMeasurePair(t *testing.T) {
	if os.Getenv("LAB_RDS_MEASURE") == "" {
		t.Skip("LAB_RDS_MEASURE=1 measures an idle pair for 30 s")
	}
	tier, runID, _, took := startPair(t)
	_ = tier
	cpu0, at := cpuTicks(serverPIDs(t, runID)), time.Now()
	time.Sleep(30 * time.Second) // the measurement window itself, not a wait for a condition
	pids := serverPIDs(t, runID)
	cpu1, wall := cpuTicks(pids), time.Since(at)
	var pss, rss int64
	for _, pid := range pids {
		pss += smapsField(pid, "Pss:")
		rss += smapsField(pid, "Rss:")
	}
	t.Logf("start-up %s; %d processes; PSS %.1f MiB (RSS sum %.1f MiB); CPU %.2f%% of one core over %s",
		took.Round(time.Millisecond), len(pids), float64(pss)/1024, float64(rss)/1024,
		100*float64(cpu1-cpu0)/100/wall.Seconds(), wall.Round(time.Second))
}

// serverPIDs lists the processes labelled with the tier's run (each
// server's postmaster) and their descendants: PostgreSQL's children
// overwrite their environment with their process titles, so only the
// postmaster shows the label.
func serverPIDs(t *testing.T, runID string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:])); len(f) > 1 {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
		if osproc.HasEnv(pid, "LAB_RUN_ID="+runID) {
			out = append(out, pid)
		}
	}
	for added := true; added; {
		added = false
		for pid, pp := range parent {
			if slices.Contains(out, pp) && !slices.Contains(out, pid) {
				out, added = append(out, pid), true
			}
		}
	}
	return out
}

func procUID(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// cpuTicks sums utime and stime (clock ticks, 100 a second) of pids.
func cpuTicks(pids []int) int64 {
	var n int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		n += u + s
	}
	return n
}

// smapsField reads a kB figure of /proc/<pid>/smaps_rollup.
func smapsField(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == field {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}
