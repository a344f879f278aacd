package todo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPoolSize is how many database connections an instance keeps:
// HikariCP's default (a fixed pool of 10, opened at start and kept), so
// that scaling the web tier out multiplies the connections the database
// must hold, as it does on AWS.
const DefaultPoolSize = 10

// PGConfig says where an instance's PostgreSQL is.
type PGConfig struct {
	// WriterURL is the writer endpoint (an RDS instance's endpoint or a
	// cluster's writer endpoint): every write, and every read that must see
	// the instance's own writes.
	WriterURL string
	// ReaderURL, if set, is the reader endpoint (a cluster's, or a read
	// replica's): lists and gets go there, and may be stale by the
	// replica's lag.
	ReaderURL string
	// PoolSize bounds each endpoint's pool; 0 means DefaultPoolSize.
	PoolSize int
	// DNSResolver, if set (host:port), resolves the URLs' host names, each
	// answer kept for its TTL (DNSCache): the lab's DNS, where the
	// endpoints' names are. Unset: the system's resolver.
	DNSResolver string
}

// PGStore keeps todos in PostgreSQL through pgx's pool. A write is
// answered only after its COMMIT returned, which on a Multi-AZ primary with
// a synchronous standby means the standby has it too. A connection that a
// failover breaks fails the request it carried (503), and the pool is then
// emptied (fail) so that the next requests open new connections through
// the endpoint: its stable address, which the move now leads to the new
// primary, or its DNS name (DNSResolver), whose answer the move flips, as
// RDS's does.
type PGStore struct {
	writer *pgxpool.Pool
	reader *pgxpool.Pool // the writer when there is no reader endpoint
	kind   string
}

// pgSchema is created once per database; concurrent instances serialize on
// an advisory lock, since CREATE TABLE IF NOT EXISTS alone can race in
// PostgreSQL (a duplicate key in pg_type).
const pgSchema = `CREATE TABLE IF NOT EXISTS todos (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	title      TEXT        NOT NULL,
	done       BOOLEAN     NOT NULL DEFAULT false,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
)`

// pgCartSchema and pgCartIndex hold the carts of CartDatabase.
const (
	pgCartSchema = `CREATE TABLE IF NOT EXISTS cart_items (
	id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	session TEXT NOT NULL,
	item    TEXT NOT NULL
)`
	pgCartIndex = `CREATE INDEX IF NOT EXISTS cart_items_session ON cart_items (session, id)`
)

// schemaLock is the advisory lock key the schema's creation holds.
const schemaLock = 0x51_4D_D0_4E

// OpenPostgres connects to the writer (and the reader, if any) and makes
// sure the schema exists on the writer.
func OpenPostgres(ctx context.Context, c PGConfig) (*PGStore, error) {
	if c.PoolSize < 0 {
		return nil, fmt.Errorf("todo: database pool size %d must not be negative", c.PoolSize)
	}
	size := c.PoolSize
	if size == 0 {
		size = DefaultPoolSize
	}
	var lookup pgconn.LookupFunc
	if c.DNSResolver != "" {
		lookup = NewDNSCache(c.DNSResolver, nil).Lookup
	}
	w, err := newPool(ctx, c.WriterURL, size, lookup)
	if err != nil {
		return nil, fmt.Errorf("todo: writer endpoint: %w", err)
	}
	s := &PGStore{writer: w, reader: w, kind: "postgresql " + redact(c.WriterURL)}
	if c.ReaderURL != "" {
		r, err := newPool(ctx, c.ReaderURL, size, lookup)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("todo: reader endpoint: %w", err)
		}
		s.reader = r
		s.kind += ", reads from " + redact(c.ReaderURL)
	}
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("todo: create schema: %w", err)
	}
	return s, nil
}

func newPool(ctx context.Context, dsn string, size int, lookup pgconn.LookupFunc) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", redact(dsn), err)
	}
	if lookup != nil {
		cfg.ConnConfig.LookupFunc = lookup
	}
	cfg.MaxConns, cfg.MinConns = int32(size), int32(size) // a fixed pool, as HikariCP's default
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second // a dead endpoint fails a request, it does not hang it
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fill(ctx, p, size)
	return p, nil
}

// fill opens the pool's connections at boot, as a fixed pool does
// (HikariCP fills to minimumIdle before the application serves), and
// keeps every one the server grants: on a database with fewer free slots
// than the pool asks for, the instance holds what was left and the
// server's refusals (too_many_connections, 53300) are not retried here.
// pgx's own fill (MinConns) gives up at its first failed connection and
// cancels those still opening, so that instances booting onto a nearly
// full database would each take a few slots and leave the rest for the
// next; a real fleet's pools are taken whole, first come first served.
// The pool's health check (HealthCheckPeriod) tops it up later, and a
// request that finds no idle connection opens one. fill waits at most
// the connect timeout; what it could not open it leaves to those.
func fill(ctx context.Context, p *pgxpool.Pool, size int) {
	ctx, cancel := context.WithTimeout(ctx, p.Config().ConnConfig.ConnectTimeout)
	defer cancel()
	conns := make(chan *pgxpool.Conn, size)
	var wg sync.WaitGroup
	for range size {
		wg.Go(func() {
			if c, err := p.Acquire(ctx); err == nil {
				conns <- c // held until all are done, so each Acquire opens one of its own
			}
		})
	}
	wg.Wait()
	close(conns)
	for c := range conns {
		c.Release()
	}
}

// init creates the schema under the advisory lock, retrying while the
// database is not yet reachable (an instance can boot before a failover
// ends) for a bounded time.
func (s *PGStore) init(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		err := pgx.BeginFunc(ctx, s.writer, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLock)); err != nil {
				return err
			}
			for _, stmt := range []string{pgSchema, pgCartSchema, pgCartIndex} {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
		err = classifyPG(err)
		if full(err) {
			// The server answered: it is up, with no slot for this
			// instance. Others hold them (and made the schema): boot,
			// and let requests open a connection when a slot frees.
			s.kind += fmt.Sprintf("; at boot the database refused a connection (%s), so requests answer 503 until one opens", pgMessage(err))
			return nil
		}
		if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
}

// Kind says which database the store uses, for the instance's log.
func (s *PGStore) Kind() string { return s.kind }

// Close closes both pools, waiting at most closeWait. A pool waits for
// each connection's close, and pgx closes a connection whose query was
// cancelled by asking the server to cancel it on a new connection, which a
// slow or full server may answer late; the instance is exiting, and the
// kernel closes what is left of them at its exit (the server then ends
// their sessions), so Close does not hold the exit for them.
func (s *PGStore) Close() error {
	done := make(chan struct{})
	go func() { // owned by Close: it ends once the pools are closed, or with the process
		defer close(done)
		if s.reader != s.writer {
			s.reader.Close()
		}
		s.writer.Close()
	}()
	select {
	case <-done:
		return nil
	case <-time.After(closeWait):
		return fmt.Errorf("todo: the database pools were still closing connections after %s; the exit closes them", closeWait)
	}
}

// closeWait bounds Close.
const closeWait = time.Second

// Ping reads the todos table on the writer: the deep health check fails
// while the writer cannot answer. Waiting for one of the pool's
// connections ends with ctx (the health check's own time, or the load
// balancer giving up on it), so a check never holds the instance's
// shutdown; the query itself does not: a health check the load balancer
// gave up on would otherwise close the pool's connection (pgx closes a
// connection whose query is cancelled), and the next check would pay for
// a new one, late again. It ends by itself after pingTimeout.
func (s *PGStore) Ping(ctx context.Context) error {
	c, err := s.writer.Acquire(ctx)
	if err != nil {
		return s.fail(s.writer, err)
	}
	defer c.Release()
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	var n int64
	return s.fail(s.writer, c.QueryRow(qctx, "SELECT count(*) FROM (SELECT 1 FROM todos LIMIT 1) t").Scan(&n))
}

// pingTimeout bounds a health check's query on its own.
const pingTimeout = 5 * time.Second

const pgColumns = "id, title, done, created_at, updated_at"

func scanPG(row pgx.Row) (Todo, error) {
	var t Todo
	if err := row.Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return Todo{}, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// List returns up to limit todos with id > afterID, in id order, from the
// reader endpoint when there is one.
func (s *PGStore) List(ctx context.Context, afterID int64, limit int) ([]Todo, error) {
	rows, err := s.reader.Query(ctx, "SELECT "+pgColumns+" FROM todos WHERE id > $1 ORDER BY id LIMIT $2", afterID, limit)
	if err != nil {
		return nil, s.fail(s.reader, err)
	}
	defer rows.Close()
	todos := []Todo{}
	for rows.Next() {
		t, err := scanPG(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(s.reader, err)
		}
		todos = append(todos, t)
	}
	rows.Close()
	return todos, s.fail(s.reader, rows.Err())
}

// Get returns the todo with the given id, or ErrNotFound, from the reader
// endpoint when there is one: a replica that has not replayed a create yet
// answers ErrNotFound, a stale read.
func (s *PGStore) Get(ctx context.Context, id int64) (Todo, error) {
	t, err := scanPG(s.reader.QueryRow(ctx, "SELECT "+pgColumns+" FROM todos WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Todo{}, ErrNotFound
	}
	return t, s.fail(s.reader, err)
}

// Create inserts a todo on the writer and returns it once committed.
func (s *PGStore) Create(ctx context.Context, title string, done bool) (Todo, error) {
	now := time.Now().UTC()
	t, err := scanPG(s.writer.QueryRow(ctx,
		"INSERT INTO todos (title, done, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING "+pgColumns, title, done, now))
	return t, s.fail(s.writer, err)
}

// Update sets the fields that are non-nil on the writer and returns the
// updated todo once committed, or ErrNotFound.
func (s *PGStore) Update(ctx context.Context, id int64, title *string, done *bool) (Todo, error) {
	t, err := scanPG(s.writer.QueryRow(ctx,
		`UPDATE todos SET title = COALESCE($1, title), done = COALESCE($2, done), updated_at = $3
		 WHERE id = $4 RETURNING `+pgColumns, title, done, time.Now().UTC(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Todo{}, ErrNotFound
	}
	return t, s.fail(s.writer, err)
}

// Delete removes the todo on the writer, or returns ErrNotFound.
func (s *PGStore) Delete(ctx context.Context, id int64) error {
	tag, err := s.writer.Exec(ctx, "DELETE FROM todos WHERE id = $1", id)
	if err != nil {
		return s.fail(s.writer, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// unavailableCodes are the SQLSTATEs that say the database, not the
// request, is at fault: no more connections, shutting down or starting,
// and a write sent to a server that is (now) a standby.
var unavailableCodes = map[string]bool{
	"53300": true, // too_many_connections
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"25006": true, // read_only_sql_transaction
}

// classifyPG wraps errors that mean the database cannot serve (connection
// refused, reset or closed, SQLSTATE class 08 and unavailableCodes) with
// ErrUnavailable; others pass through.
func classifyPG(err error) error {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if strings.HasPrefix(pe.Code, "08") || unavailableCodes[pe.Code] {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// fail classifies err (classifyPG) and, when it says the server behind the
// pool's endpoint is gone or is no longer the writer, empties the pool:
// pgx closes a connection only on a fatal error, so a pooled connection to
// a primary demoted to a standby (read_only_sql_transaction, 25006), shut
// down, or cut by the endpoint's move would otherwise stay and fail request
// after request. After a failover every connection is suspect, as AWS's
// guidance for clients says: the pool drops them all (idle ones at once,
// busy ones when released) and opens new ones through the endpoint, which
// reach the new primary. A database that is only full (53300) keeps its
// connections.
func (s *PGStore) fail(p *pgxpool.Pool, err error) error {
	err = classifyPG(err)
	if stale(err) {
		p.Reset()
	}
	return err
}

// stale reports whether err says the connection it came on is no use: a
// server read-only, shutting down or starting, a connection exception
// (class 08), or the connection itself broken. A connection that could not
// be opened says nothing of the pooled ones, and a request that ran out of
// time (its caller gave up) says nothing of the server: emptying the pool
// then would only make every request after it open a connection again,
// each slower than the last, and time out in turn.
func stale(err error) bool {
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code != "53300"
	}
	return true
}

// full reports whether err is the server's refusal of a connection for
// want of a slot: too_many_connections (53300), which PostgreSQL answers
// both "sorry, too many clients already" and, once only the superusers'
// reserved slots are left, "remaining connection slots are reserved for
// non-replication superuser connections".
func full(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53300"
}

// pgMessage is the server's own message in err, else err.
func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// redact drops a URL's password, for logs.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(a connection string)"
	}
	return u.Redacted()
}

// Cart returns the session's items, oldest first, from the writer: a
// user's own session state is read where it was written.
func (s *PGStore) Cart(ctx context.Context, session string) ([]string, error) {
	items, err := pgCartItems(ctx, s.writer, session)
	return items, s.fail(s.writer, err)
}

func pgCartItems(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, session string) ([]string, error) {
	rows, err := q.Query(ctx, "SELECT item FROM cart_items WHERE session = $1 ORDER BY id DESC LIMIT $2", session, MaxCartItems)
	if err != nil {
		return nil, classifyPG(err)
	}
	items, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, classifyPG(err)
	}
	slices.Reverse(items)
	if items == nil {
		items = []string{}
	}
	return items, nil
}

// AddToCart adds an item on the writer, forgets all but the newest
// MaxCartItems, and returns the cart once committed.
func (s *PGStore) AddToCart(ctx context.Context, session, item string) ([]string, error) {
	var items []string
	err := pgx.BeginFunc(ctx, s.writer, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO cart_items (session, item) VALUES ($1, $2)", session, item); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cart_items WHERE session = $1 AND id NOT IN
			(SELECT id FROM cart_items WHERE session = $1 ORDER BY id DESC LIMIT $2)`, session, MaxCartItems); err != nil {
			return err
		}
		var err error
		items, err = pgCartItems(ctx, tx, session)
		return err
	})
	return items, s.fail(s.writer, err)
}
