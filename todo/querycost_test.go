package todo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The costly aggregate runs before each statement on the statement's own
// endpoint: the reader for lists and gets, the writer for writes. Here,
// once both are calibrated, the reader's database cancels any statement
// after 20 ms and the writer's does not, so an aggregate costing far
// longer fails reads and lets writes through.
func TestQueryCostOnEachEndpoint(t *testing.T) {
	writerURL, readerURL := testPostgres(t), testPostgres(t)
	ctx := context.Background()
	for _, u := range []string{writerURL, readerURL} { // the schema on both
		s, err := OpenPostgres(ctx, PGConfig{WriterURL: u})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	pg, err := OpenPostgres(ctx, PGConfig{WriterURL: writerURL, ReaderURL: readerURL})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if r, err := withQueryCost(ctx, pg, 0); err != nil || r != Repo(pg) {
		t.Errorf("no cost: the store is wrapped (%v)", err)
	}
	s, err := withQueryCost(ctx, pg, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}

	c, err := pgx.Connect(ctx, readerURL)
	if err != nil {
		t.Fatal(err)
	}
	db := readerURL[strings.LastIndex(readerURL, "/")+1 : strings.Index(readerURL, "?")]
	if _, err := c.Exec(ctx, "ALTER DATABASE "+db+" SET statement_timeout = '20ms'"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	pg.reader.Reset() // new connections, with the timeout

	created, err := s.Create(ctx, "written", false)
	if err != nil {
		t.Fatalf("create on the writer: %v", err)
	}
	if _, err := s.List(ctx, 0, 10); err == nil {
		t.Error("list: the aggregate did not run on the reader (its 20 ms timeout did not cancel it)")
	}
	if _, err := s.Get(ctx, created.ID); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("get: %v; want the reader's timeout", err)
	}
}

// The cost is the backend's CPU time: twenty statements at 10 ms each
// keep the one backend of a one-connection pool on a CPU for about 200 ms
// (and the statements' own work), where a loop on the kernel's figure
// alone, ending at the first scheduler tick past its 10 ms, took 240. And
// a backend stopped for 150 ms in the middle of a 30 ms query still spends
// its 30 ms on a CPU: the wait is not counted.
func TestQueryCostIsTheBackendsCPUTime(t *testing.T) {
	url := testPostgres(t)
	ctx := context.Background()
	pg, err := OpenPostgres(ctx, PGConfig{WriterURL: url, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var pid int
	if err := pg.writer.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	onCPU := func() time.Duration {
		t.Helper()
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			t.Fatal(err)
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(ns)
	}
	s, err := withQueryCost(ctx, pg, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	before := onCPU()
	for i := range 20 {
		if _, err := s.Create(ctx, fmt.Sprint("todo ", i), false); err != nil {
			t.Fatal(err)
		}
	}
	var again int
	if err := pg.writer.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&again); err != nil || again != pid {
		t.Fatalf("the pool's one backend changed (%d, then %d, %v)", pid, again, err)
	}
	got := onCPU() - before
	t.Logf("twenty statements at 10 ms: %v of the backend's CPU", got)
	if got < 180*time.Millisecond || got > 230*time.Millisecond {
		t.Errorf("twenty statements at 10 ms cost the backend %v of CPU, want 180 ms to 230 ms", got)
	}

	long, err := withQueryCost(ctx, pg, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	before = onCPU()
	start := time.Now()
	done := make(chan error, 1)
	go func() { _, err := long.Create(ctx, "stopped", false); done <- err }()
	for onCPU()-before < 5*time.Millisecond { // the query has started
		if time.Since(start) > 10*time.Second {
			t.Fatal("the query did not start")
		}
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the backend is kept off the CPU: a wait, not a race
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wall, got := time.Since(start), onCPU()-before
	t.Logf("a 30 ms query stopped for 150 ms: %v of CPU in %v", got, wall)
	if got < 28*time.Millisecond || wall < 150*time.Millisecond {
		t.Errorf("a 30 ms query stopped for 150 ms cost %v of CPU in %v; want 30 ms of CPU, the wait not counted", got, wall)
	}
}

// A role that may not read /proc/self/schedstat cannot run the costly
// query: the instance says so at its start, not with a 500 on every
// request. Once the lab's CPUTimeFunction is there for it, it can.
func TestQueryCostNeedsARoleThatMayReadItsCPUTime(t *testing.T) {
	url := testPostgres(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	role := "plain_" + cfg.Database
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN", "GRANT ALL ON SCHEMA public TO " + role} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := OpenPostgres(ctx, PGConfig{WriterURL: strings.Replace(url, "lab@", role+"@", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	_, err = withQueryCost(ctx, pg, 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "pg_read_server_files") || !strings.Contains(err.Error(), "writer") {
		t.Errorf("a role without pg_read_server_files: %v; want an error that names the writer and the grant", err)
	}
	for _, q := range CPUTimeFunctionSQL(role) {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s, err := withQueryCost(ctx, pg, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("with %s(): %v", CPUTimeFunction, err)
	}
	if _, err := s.Create(ctx, "written", false); err != nil {
		t.Errorf("create with %s(): %v", CPUTimeFunction, err)
	}
	if _, err := pg.writer.Exec(ctx, "SELECT pg_read_file('/proc/self/status')"); err == nil {
		t.Errorf("the role reads any file: %s() gave it more than its CPU time", CPUTimeFunction)
	}
}
