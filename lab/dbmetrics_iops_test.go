package lab

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/simplydone/lab/rundir"
)

// fakeProc writes a /proc with the given processes: pid -> parent, and
// its syscr and syscw.
func fakeProc(t *testing.T, procs map[int][3]uint64) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := strconv.Itoa(pid) + " (postgres: web) x) S " + strconv.FormatUint(p[0], 10) + " 1 1 0 -1\n"
		io := "rchar: 9\nwchar: 9\nsyscr: " + strconv.FormatUint(p[1], 10) + "\nsyscw: " + strconv.FormatUint(p[2], 10) + "\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "io"), []byte(io), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, "self"), 0o755) // not a pid: skipped
	return root
}

// The server's I/O is its postmaster's and every process under it (a
// backend's backend, such as a parallel worker, too), never a sibling's.
func TestReadServerIO(t *testing.T) {
	root := fakeProc(t, map[int][3]uint64{
		100: {1, 1000, 50},   // postmaster
		101: {100, 20, 5},    // backend
		102: {100, 30, 7},    // walwriter
		103: {101, 4, 1},     // under a backend
		200: {1, 999, 999},   // another program
		201: {200, 999, 999}, // its child
	})
	r, w, err := readServerIO(root, 100)
	if err != nil {
		t.Fatal(err)
	}
	if r != 1054 || w != 63 {
		t.Errorf("readServerIO = %d reads, %d writes; want 1054, 63", r, w)
	}
	if _, _, err := readServerIO(root, 300); err == nil {
		t.Error("a process that does not exist read without an error")
	}
}

// The rate is per AWS second between two readings of the same server, and
// none when the server restarted or a counter went back.
func TestIOPS(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := ioSample{pid: 7, reads: 1000, write: 200, at: t0}
	cur := ioSample{pid: 7, reads: 1600, write: 1400, at: t0.Add(time.Minute)}
	r, w, ok := iops(prev, cur)
	if !ok || r != 10 || w != 20 {
		t.Errorf("iops = %v, %v, %v; want 10, 20, true", r, w, ok)
	}
	for name, c := range map[string]ioSample{
		"restarted":  {pid: 8, reads: 1600, write: 1400, at: t0.Add(time.Minute)},
		"went back":  {pid: 7, reads: 900, write: 1400, at: t0.Add(time.Minute)},
		"no time":    {pid: 7, reads: 1600, write: 1400, at: t0},
		"no process": {pid: 0, reads: 1600, write: 1400, at: t0.Add(time.Minute)},
	} {
		if _, _, ok := iops(prev, c); ok {
			t.Errorf("%s: a rate was given", name)
		}
	}
}

// The lab keeps the latest minute for the views and folds every minute
// into the summary's peaks, the roles as they are now.
func TestDBReadingsPeaks(t *testing.T) {
	l := &Lab{}
	if _, ok := l.DatabaseNow(); ok || l.databasePeaks() != nil {
		t.Fatal("readings before the first minute")
	}
	in := func(role string, conns float64) rundir.DBInstance {
		return rundir.DBInstance{Identifier: "db", Role: role, Zone: "us-east-1a", MaxConnections: 112, Metrics: map[string]float64{"DatabaseConnections": conns}}
	}
	l.dbNow.set(rundir.DBSample{AWS: 60, Instances: []rundir.DBInstance{in("primary", 90)}})
	l.dbNow.set(rundir.DBSample{AWS: 120, Instances: []rundir.DBInstance{in("standby", 12)}})
	now, ok := l.DatabaseNow()
	p := l.databasePeaks()
	if !ok || now.AWS != 120 || len(p) != 1 || p[0].Connections != 90 || p[0].Role != "standby" {
		t.Errorf("now %+v, peaks %+v: want the second minute, a peak of 90 and the role now", now, p)
	}
}
