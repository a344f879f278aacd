package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/longtest"
	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
	"github.com/simplydone/lab/todo"
)

const multiAZ = `database:
  engine: postgres
  db_instance_class: db.t3.micro
  multi_az: true
  port: 18487
`

// TestDatabasePreflight: a stack with a database where PostgreSQL is
// absent is refused before anything starts, at the section's line, with
// the command that installs it; so is one with --isolate.
func TestDatabasePreflight(t *testing.T) {
	t.Setenv("LAB_PG_BINDIR", t.TempDir()) // no server's programs there
	s := testStackWith(t, 18486, 3, multiAZ)
	runs := t.TempDir()
	_, err := Start(context.Background(), Options{Stack: s, Speed: 20, RunsDir: runs, StateDir: t.TempDir(), Driver: DriverProcess})
	var pe *PreflightError
	if !errors.As(err, &pe) || !errors.Is(err, rds.ErrNotInstalled) {
		t.Fatalf("want a PreflightError for a missing PostgreSQL, got %v", err)
	}
	for _, want := range []string{"itest.yaml:14:3: database: PostgreSQL is not installed", rds.InstallCommand, "make run-deps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if ents, _ := os.ReadDir(runs); len(ents) > 0 {
		t.Errorf("something started: %v", ents)
	}
	o := &Options{Stack: s, Isolate: true}
	if _, err := preflightDatabase(o); !errors.As(err, &pe) || !strings.Contains(err.Error(), "--isolate") {
		t.Errorf("--isolate with a database: %v", err)
	}
	o = &Options{Stack: testStack(t, 18486)}
	if _, err := preflightDatabase(o); err != nil {
		t.Errorf("a stack without a database: %v", err)
	}
}

// TestDatabaseTierInRun runs the lab with a Multi-AZ database: the pair is
// up and streaming synchronously before the group launches, its servers
// carry the tier's run label, and Close leaves no server, record or data.
func TestDatabaseTierInRun(t *testing.T) {
	if _, err := rds.Find(); err != nil {
		t.Skipf("%v", err)
	}
	s := testStackWith(t, 18488, 3, multiAZ)
	state := t.TempDir()
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: state, Driver: DriverProcess, SimplyDone: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.DB == nil {
		t.Fatal("no data tier")
	}
	servers := l.DB.Servers()
	if len(servers) != 2 || servers[0].AddrPort().String() != "127.0.1.200:18487" || servers[1].Zone.Name != "us-east-1b" {
		t.Fatalf("servers: %+v", servers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := l.DB.Replication(ctx)
	if err != nil || len(rows) != 1 || rows[0].SyncState != "sync" {
		t.Fatalf("pg_stat_replication: %+v, %v", rows, err)
	}
	label := l.RunID + DatabaseRunSuffix
	if n := len(labelledPIDs(label)); n < 2 {
		t.Fatalf("%d processes carry LAB_RUN_ID=%s", n, label)
	}
	if _, err := runlock.Try(state, label); !errors.Is(err, runlock.ErrAlive) {
		t.Errorf("the tier's lock is not held while it runs: %v", err)
	}
	waitFor(t, "the group's first instance", 30*time.Second, func() bool { return len(l.Instances()) > 0 })
	// Instances are given the writer endpoint's stable address, which any
	// client reaches, and its DNS name with the lab's DNS, which answers it
	// with the primary's address.
	env := l.databaseEnv()
	w := l.DB.WriterEndpoint()
	if !strings.Contains(env["DATABASE_URL"], "@"+w.Addr().String()+"/") {
		t.Errorf("DATABASE_URL %q; want the endpoint's stable address %s", env["DATABASE_URL"], w.Addr())
	}
	if !strings.Contains(env["DATABASE_ENDPOINT_URL"], "@"+w.Name+":18487/") || env["LAB_DNS_RESOLVER"] != l.DNS().Addr() {
		t.Errorf("DATABASE_ENDPOINT_URL and LAB_DNS_RESOLVER: %q, %q; want %s and %s", env["DATABASE_ENDPOINT_URL"], env["LAB_DNS_RESOLVER"], w.Name, l.DNS().Addr())
	}
	if got, err := todo.NewDNSCache(env["LAB_DNS_RESOLVER"], nil).Lookup(ctx, w.Name); err != nil || !slices.Equal(got, []string{servers[0].Addr.String()}) {
		t.Errorf("%s answers %v (%v); want the primary's %s", w.Name, got, err, servers[0].Addr)
	}
	// The run's lock holds the endpoints' addresses, those the tier opened.
	owner, err := runlock.ReadOwner(state, l.RunID)
	var opened []string
	for _, e := range l.DB.Endpoints() {
		opened = append(opened, e.Addr().String())
	}
	if err != nil || !slices.Equal(owner.Addrs, opened) {
		t.Errorf("the lock's addresses %v (%v); the tier's endpoints are at %v", owner.Addrs, err, opened)
	}
	fullDatabaseStillVerifies(t, l)
	dir := l.Dir
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if left := labelledPIDs(label); len(left) > 0 {
		t.Errorf("database processes outlived Close: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "rds")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, label)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("records left: %v", err)
	}
	if _, err := os.Stat(runlock.Path(state, label)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the tier's lock left: %v", err)
	}
	for _, log := range []string{"db-itest-db.log", "db-itest-db-standby.log"} {
		if fi, err := os.Stat(filepath.Join(dir, "logs", log)); err != nil || fi.Size() == 0 {
			t.Errorf("server log %s: %v", log, err)
		}
	}
}

func labelledPIDs(runID string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() && osproc.HasEnv(pid, "LAB_RUN_ID="+runID) {
			out = append(out, pid)
		}
	}
	return out
}

// TestDatabaseFootprint: a run with a database also serves on the
// database's port, so another run of the same zones and that port is
// refused as a conflict before it starts.
func TestDatabaseFootprint(t *testing.T) {
	s := testStackWith(t, 18486, 3, multiAZ)
	zones, _ := az.NewZones(s.Zones)
	_, ports := footprint(s, zones)
	if !slices.Contains(ports, 18487) {
		t.Errorf("footprint ports %v lack the database's 18487", ports)
	}
	// The endpoints' stable addresses are outside every zone's subnet:
	// they are in the lock as addresses, and two runs of other zones on
	// the same database port conflict by them.
	if got := databaseAddrs(s); !slices.Equal(got, []string{"127.0.0.200:18487"}) {
		t.Errorf("a Multi-AZ DB instance's endpoint addresses %v", got)
	}
	rr, _ := stack.Builtin("read-replicas")
	if got := databaseAddrs(rr); !slices.Equal(got, []string{"127.0.0.200:5432", "127.0.0.201:5432"}) {
		t.Errorf("read-replicas' endpoint addresses %v", got)
	}
	a := runlock.Owner{Subnets: []string{"127.0.1.0/24"}, Ports: []int{8080, 5432}, Addrs: databaseAddrs(rr)}
	b := runlock.Owner{Subnets: []string{"127.0.3.0/24"}, Ports: []int{8081, 5432}, Addrs: databaseAddrs(rr)[:1]}
	if !a.Conflicts(b) {
		t.Error("two runs on the same endpoint address do not conflict")
	}
}

// fullDatabaseStillVerifies: a leaky client (db-connections) fills the
// primary to max_connections as the application's role; the server
// refuses it the slots PostgreSQL 15 keeps for superusers
// (superuser_reserved_connections, 3 as on RDS), refuses the application
// a further connection, and the lab's own check of the acknowledged
// writes still connects and reads the writer. Releasing closes them all.
func fullDatabaseStillVerifies(t *testing.T, l *Lab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := l.DB.Connect(ctx, l.DB.Primary())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var reserved, maxConns int
	if err := admin.QueryRow(ctx, "SELECT current_setting('superuser_reserved_connections')::int, current_setting('max_connections')::int").Scan(&reserved, &maxConns); err != nil || reserved != 3 {
		t.Fatalf("superuser_reserved_connections %d (%v); want PostgreSQL's and RDS's 3", reserved, err)
	}
	// The instance makes its todos table as the application's role.
	waitFor(t, "the todos table", 30*time.Second, func() bool {
		var owner string
		return admin.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'todos'").Scan(&owner) == nil && owner == appRole(l.opts.Stack.Database.Username)
	})
	held, err := labDatabase{l}.HoldConnections(ctx, chaos.DBPrimary, maxConns)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(context.Background())
	// Full: PostgreSQL refuses the application's role with "remaining
	// connection slots are reserved", or, when connection attempts in
	// flight (the instances' pools filling, each holding a slot while it
	// authenticates) take the last slots at that moment, "sorry, too many
	// clients already"; either way the role held fewer than the reserved
	// slots leave it.
	if held.Count >= maxConns-reserved || !strings.Contains(held.Refused, "reserved") && !strings.Contains(held.Refused, "too many clients") {
		t.Fatalf("the leaky client holds %d of %d (refused: %q); want fewer than %d and the full server's refusal", held.Count, maxConns, held.Refused, maxConns-reserved)
	}
	// A slot a transient connection of the lab's had taken may come free:
	// the application takes what is left until it is refused.
	var refused error
	for range 10 {
		c, err := pgx.Connect(ctx, l.appURL(l.DB.URL(l.DB.Primary(), ""), ""))
		if err != nil {
			refused = err
			break
		}
		defer c.Close(context.Background())
	}
	var pe *pgconn.PgError
	if !errors.As(refused, &pe) || pe.Code != "53300" {
		t.Fatalf("the application on a full database: %v; want 53300 (too many connections)", refused)
	}
	lost, err := l.verifyWritesOnWriter(ctx, []load.Write{{ID: 1 << 40, Title: "never written"}})
	if err != nil || lost != 1 {
		t.Fatalf("the lab's check on a full database: %d lost, %v; want it to read the writer (1 lost)", lost, err)
	}
	if alive := held.Alive(ctx); alive != held.Count {
		t.Errorf("%d of %d held connections answer", alive, held.Count)
	}
	// Its check (db-connections' goroutine, each minute): nothing broke,
	// the full server still refuses the rest.
	if r := held.Refill(ctx, maxConns); r.Broke != 0 || r.Held < held.Count || r.Held >= maxConns-reserved || r.Refused == "" {
		t.Errorf("refill on a full database: %+v; want none broken, at least the %d held, refused short of %d", r, held.Count, maxConns-reserved)
	}
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the leaky client's connections closed", 10*time.Second, func() bool {
		var n int
		return admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", LeakyClientApplicationName).Scan(&n) == nil && n == 0
	})
	t.Logf("max_connections %d: the leaky client held %d, then %q; the lab's check read the writer", maxConns, held.Count, held.Refused)
}

// TestRunDatabaseOnAgents (long) runs a sale on a stack whose two zones
// run on real agents (on loopback) and which has a database: the
// instances on the agents' hosts reach the tier through its endpoints'
// addresses toward the agents, every write they acknowledge is in the one
// data tier, and the run checks them (no per-host stores to excuse).
func TestRunDatabaseOnAgents(t *testing.T) {
	longtest.Skip(t, "a run with a database on two agents")
	if _, err := rds.Find(); err != nil {
		t.Skipf("%v", err)
	}
	tok, err := agent.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	a, b := realAgent(t, "127.0.105.250", tok), realAgent(t, "127.0.106.250", tok)
	s, err := stack.Parse("db-agents.yaml", []byte(fmt.Sprintf(`name: dbagents
zones:
  - {name: us-east-1a, agent: %q}
  - {name: us-east-1b, agent: %q}
load_balancer:
  listener: {port: 18592}
target_group:
  port: 18592
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template: {command: [%q], instance_type: t3.micro, pending_time: 0s}
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
database: {engine: postgres, db_instance_class: db.t3.micro, multi_az: true, port: 18591}
`, a, b, simplydone)))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("db-agents.yaml", []byte(`name: db-agents
stack: multi-az # validated against the built-in; run on the test stack
speed: 20
load:
  mix: {list: 1, create: 2, get: 1}
  phases: [{name: steady, duration: 4m, rate: 20}]
slos: [success_rate >= 95%, lost_writes == 0]
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var said []string
	var runID string
	var urls []string // the instances' DATABASE_URLs (and any endpoint name they were given), as their processes hold them
	notes := func(e events.Envelope) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := e.Event.(type) {
		case Note:
			said = append(said, ev.Text)
		case asg.LifecycleChanged:
			if ev.To == asg.InService && runID != "" {
				urls = append(urls, instanceDatabaseEnv(runID)...)
			}
		}
	}
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: t.TempDir(), StateDir: t.TempDir(),
		AgentToken: tok, Subscribers: []events.Handler{notes}, OnStart: func(l *Lab) { mu.Lock(); runID = l.RunID; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	sum.WriteText(&text)
	t.Log(text.String())
	mu.Lock()
	also := slices.ContainsFunc(said, func(l string) bool { return strings.Contains(l, "for the instances on the agents' hosts") })
	mu.Unlock()
	if !also {
		t.Errorf("the run did not say where the agents' instances reach the database; it said:\n%s", strings.Join(said, "\n"))
	}
	// On the agents' hosts the instances are given the endpoint's address
	// toward them, not its stable address on this host's loopback (which
	// loopback agents could reach, another host could not), and no DNS name.
	stable := "127.0.0.200:18591"
	if len(urls) == 0 {
		t.Error("no instance process with a DATABASE_URL was found")
	}
	for _, u := range urls {
		if strings.Contains(u, stable) || strings.Contains(u, "_ENDPOINT_URL") || strings.Contains(u, "LAB_DNS_RESOLVER") {
			name, value, _ := strings.Cut(u, "=")
			t.Errorf("an instance on an agent was given %s=%s; want the endpoint's address toward the agents only", name, redactURL(value))
		}
	}
	if sum.WritesNotChecked != "" {
		t.Errorf("writes not checked: %s", sum.WritesNotChecked)
	}
	if sum.AcknowledgedWrites < 50 || sum.LostWrites != 0 || sum.WritesCheckedOn == "" {
		t.Errorf("acknowledged %d, lost %d, checked on %q; want dozens, none lost, checked on the primary",
			sum.AcknowledgedWrites, sum.LostWrites, sum.WritesCheckedOn)
	}
	if sum.Verdict != "PASS" {
		t.Errorf("verdict %s", sum.Verdict)
	}
}

// instanceDatabaseEnv is the database variables of run runID's instance
// processes (not its data tier's), one "NAME=value" each.
func instanceDatabaseEnv(runID string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !osproc.HasEnv(pid, "LAB_RUN_ID="+runID) {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(b), "\x00") {
			if strings.HasPrefix(kv, "DATABASE_") || strings.HasPrefix(kv, "LAB_DNS_RESOLVER=") {
				out = append(out, kv)
			}
		}
	}
	return out
}
