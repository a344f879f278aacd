package lab

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/rds"
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
}
