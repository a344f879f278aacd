package todo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Instances booting together on a fresh database all open it: the schema's
// creation is serialized, not raced.
func TestPGConcurrentOpen(t *testing.T) {
	url := testPostgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: url, PoolSize: 2})
			if err == nil {
				_, err = s.Create(context.Background(), "boot", false)
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("open together: %v", err)
		}
	}
}

// Lists and gets go to the reader endpoint, writes to the writer: here the
// reader is another database, so what the list shows says where it went.
func TestPGReaderEndpoint(t *testing.T) {
	writerURL, readerURL := testPostgres(t), testPostgres(t)
	r, err := OpenPostgres(context.Background(), PGConfig{WriterURL: readerURL})
	if err != nil {
		t.Fatal(err)
	}
	onReader, err := r.Create(context.Background(), "only on the reader", false)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: writerURL, ReaderURL: readerURL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := newTestServerCfg(t, s, Config{InstanceID: testInstance})
	created := ts.mustTodo(201, "POST", "/api/todos", `{"title":"on the writer"}`)
	var page struct{ Todos []Todo }
	ts.do("GET", "/api/todos", "").json(t, &page)
	if len(page.Todos) != 1 || page.Todos[0].Title != "only on the reader" {
		t.Errorf("list read %+v, want the reader's one todo", page.Todos)
	}
	if got := ts.mustTodo(200, "GET", fmt.Sprintf("/api/todos/%d", onReader.ID), ""); got.Title != "only on the reader" {
		t.Errorf("get read %+v from the writer", got)
	}
	// A write, and its answer, are the writer's: marking done reads back
	// the writer's row even though a get would ask the reader.
	if got := ts.mustTodo(200, "POST", fmt.Sprintf("/api/todos/%d/done", created.ID), ""); got.Title != "on the writer" || !got.Done {
		t.Errorf("done answered %+v", got)
	}
	if !strings.Contains(s.Kind(), "reads from postgres://lab@127.0.0.1") {
		t.Errorf("kind %q does not say where reads go", s.Kind())
	}
}

// An instance never holds more connections per endpoint than its pool
// allows, however many requests it serves at once.
func TestPGPoolBounded(t *testing.T) {
	url := testPostgres(t)
	s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: url, PoolSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg, _ := pgx.ParseConfig(url)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 12 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Create(context.Background(), "load", false); err != nil {
					t.Errorf("create: %v", err)
					return
				}
			}
		})
	}
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	most := 0
	for range 50 {
		var n int
		if err := c.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", cfg.Database).Scan(&n); err != nil {
			t.Fatal(err)
		}
		most = max(most, n)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if most > 3 || most == 0 {
		t.Errorf("the instance held up to %d connections, want 1 to 3 (its pool)", most)
	}
}

// The database dies: requests get 503 "database unavailable" (logged as a
// connection error), the deep health check fails; it comes back on the same
// address: the pool reconnects and every acknowledged write is there.
func TestPGUnavailableThenBack(t *testing.T) {
	if pgBin() == "" {
		testPostgres(t) // skips or fails as its absence deserves
	}
	srv, err := startPG()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.stop)
	s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: srv.url("postgres")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := newTestServerCfg(t, s, Config{InstanceID: testInstance})
	acked := ts.mustTodo(201, "POST", "/api/todos", `{"title":"acknowledged before the crash"}`)

	if err := srv.crash(); err != nil { // the primary's host is gone
		t.Fatal(err)
	}
	for _, req := range [][2]string{{"GET", "/api/todos"}, {"POST", "/api/todos"}, {"GET", "/health"}} {
		body := ""
		if req[0] == "POST" {
			body = `{"title":"during the outage"}`
		}
		if r := ts.do(req[0], req[1], body); r.status != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the database down: %d %s, want 503", req[0], req[1], r.status, r.body)
		}
	}
	if _, err := s.Get(context.Background(), acked.ID); !errors.Is(err, ErrUnavailable) {
		t.Errorf("get with the database down: %v, want ErrUnavailable", err)
	}

	// the same data directory, the same port: as a host that restarts
	srv.exit = make(chan struct{})
	cmd := exec.Command(srv.cmd.Path, srv.cmd.Args[1:]...)
	asPostgresUser(cmd)
	logf, err := os.Create(filepath.Join(srv.dir, "restart.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.cmd = cmd
	go func() { cmd.Wait(); close(srv.exit) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := ts.do("GET", "/api/todos/"+strconv.FormatInt(acked.ID, 10), "")
		if r.status == 200 {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("after the restart: %d %s; the server said:\n%s", r.status, r.body, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := ts.do("GET", "/health", ""); r.status != 200 {
		t.Errorf("health after the restart: %d %s", r.status, r.body)
	}
}

// Errors that mean the database cannot serve are ErrUnavailable (503);
// a request's own fault or a missing row is not.
func TestClassifyPG(t *testing.T) {
	for _, c := range []struct {
		err         error
		unavailable bool
	}{
		{&pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}, true},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{&pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{&pgconn.PgError{Code: "23505", Message: "duplicate key"}, false},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, false},
		{pgx.ErrNoRows, false},
		{nil, false},
	} {
		if got := errors.Is(classifyPG(c.err), ErrUnavailable); got != c.unavailable {
			t.Errorf("%v: unavailable %v, want %v", c.err, got, c.unavailable)
		}
	}
}

// A pooled connection to a server that turned read-only (a primary demoted
// to a standby answers 25006) is not kept: the write fails as unavailable,
// the pool is emptied, and the next writes go over new connections. Here
// the pool's own sessions are made read-only; a new session is not.
func TestPGReadOnlyConnectionsDropped(t *testing.T) {
	url := testPostgres(t)
	ctx := context.Background()
	s, err := OpenPostgres(ctx, PGConfig{WriterURL: url, PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var held []*pgxpool.Conn
	for range 2 {
		c, err := s.writer.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "SET default_transaction_read_only = on"); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
	before := s.writer.Stat().NewConnsCount()
	if _, err := s.Create(ctx, "to a read-only server", false); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("create on a read-only connection: %v, want ErrUnavailable", err)
	}
	for i := range 4 {
		if _, err := s.Create(ctx, "after", false); err != nil {
			t.Fatalf("create %d after the pool was emptied: %v", i, err)
		}
	}
	if got := s.writer.Stat().NewConnsCount(); got <= before {
		t.Fatalf("no new connection opened (%d before, %d after)", before, got)
	}
	// A full database keeps its connections: 53300 is not the connection's fault.
	if stale(classifyPG(&pgconn.PgError{Code: "53300"})) || !stale(classifyPG(&pgconn.PgError{Code: "25006"})) || !stale(classifyPG(io.EOF)) {
		t.Fatal("stale: wrong class")
	}
	// Neither a connection that was never opened nor a request its caller
	// gave up on says the pooled connections are stale.
	_, connErr := pgx.Connect(ctx, "postgres://lab@127.0.0.1:1/x?connect_timeout=1")
	if connErr == nil || !errors.Is(classifyPG(connErr), ErrUnavailable) || stale(classifyPG(connErr)) {
		t.Fatalf("a failed connect (%v) empties the pool", connErr)
	}
	if stale(classifyPG(fmt.Errorf("read: %w: %w", context.DeadlineExceeded, io.ErrUnexpectedEOF))) {
		t.Fatal("a request out of time empties the pool")
	}
}

// Instances that boot onto a database with too few free slots: each pool
// is opened whole at boot and kept, first come first served, so that the
// first instance holds all ten of its connections, the second what was
// left, and the third none. The third boots all the same (the server
// answered; it is full, not down) and answers 503 "database unavailable"
// until a slot frees, then serves. A role's CONNECTION LIMIT stands in
// for max_connections: PostgreSQL refuses both with too_many_connections.
func TestPGPoolsHeldFirstComeFirstServed(t *testing.T) {
	url := testPostgres(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	role := "app_" + cfg.Database
	admin, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 12",
		"GRANT ALL ON SCHEMA public TO " + role,
	} {
		if _, err := admin.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	appURL := strings.Replace(url, "lab@", role+"@", 1)
	held := func() int {
		var n int
		if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitHeld := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for held() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the role holds %d connections, want %d", what, held(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	open := func() *PGStore {
		t.Helper()
		s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: appURL, PoolSize: 10})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	first := open()
	if n := held(); n != 10 {
		t.Errorf("the first instance opened %d connections at boot, want its pool's 10", n)
	}
	second := open()
	waitHeld(12, "a second instance on a database with 2 free slots")
	if _, err := second.Create(context.Background(), "from the second", false); err != nil {
		t.Errorf("the second instance, holding 2 connections: %v", err)
	}

	start := time.Now()
	third := open() // nothing left for it
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the third instance took %v to boot on a full database; a refusal is an answer, not an outage to wait out", d)
	}
	if !strings.Contains(third.Kind(), "refused a connection") {
		t.Errorf("the third instance's store line %q does not say the database refused it", third.Kind())
	}
	ts := newTestServerCfg(t, third, Config{InstanceID: testInstance})
	if r := ts.do("POST", "/api/todos", `{"title":"no slot"}`); r.status != http.StatusServiceUnavailable {
		t.Errorf("a create on the instance without a connection: %d %s, want 503", r.status, r.body)
	}
	_, err = third.Create(context.Background(), "no slot", false)
	var pe *pgconn.PgError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &pe) || pe.Code != "53300" {
		t.Errorf("a create on the instance without a connection: %v, want ErrUnavailable from too_many_connections (53300)", err)
	}
	if n := held(); n != 12 {
		t.Errorf("the fleet holds %d connections, want 12: the first two keep theirs", n)
	}

	first.Close() // the first instance is scaled in: its ten slots free
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := ts.do("POST", "/api/todos", `{"title":"a slot freed"}`)
		if r.status == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first instance left: %d %s", r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A health check waiting for one of the pool's connections gives up when
// its context ends (the load balancer gave up on it, or the instance shuts
// down), not pingTimeout later: with every connection of the pool taken,
// Ping returns with the context's error at its deadline.
func TestPGPingWaitsForAConnectionOnlyAsLongAsItsContext(t *testing.T) {
	url := testPostgres(t)
	s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: url, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("ping with a free connection: %v", err)
	}
	held, err := s.writer.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Ping(ctx)
	took := time.Since(start)
	held.Release()
	if !errors.Is(err, context.DeadlineExceeded) || took >= pingTimeout/2 {
		t.Fatalf("ping with the pool's only connection taken: %v after %s; want the context's deadline after about 100 ms", err, took)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("ping once the connection is back: %v", err)
	}
}
