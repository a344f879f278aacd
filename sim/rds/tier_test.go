package rds_test

import (
	"bytes"
	"context"
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
