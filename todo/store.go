package todo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/simplydone/lab/todo/storefile"
)

// DBFile is the name of the database file inside the shared data directory.
const DBFile = storefile.Name

// busyTimeout is how long a connection waits for another writer (in this
// process or another instance) before giving up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// ErrNotFound is returned by Store methods when no todo has the given id.
var ErrNotFound = errors.New("todo not found")

// ErrBusy wraps store errors caused by lock contention that outlasted the
// busy timeout; the HTTP layer answers them with 503.
var ErrBusy = errors.New("database busy")

// Todo is one item, as stored and as served in JSON.
type Todo struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Store is the SQLite-backed todo store. Several Stores, in one process or
// in many, may share one data directory: the database runs in WAL mode, every
// connection waits up to busyTimeout for a lock, and write transactions start
// with BEGIN IMMEDIATE so they queue for the write lock instead of failing on
// a lock upgrade.
type Store struct {
	db *sql.DB
}

const schema = `CREATE TABLE IF NOT EXISTS todos (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	title      TEXT    NOT NULL,
	done       INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
)`

// OpenStore opens (creating if needed) dataDir/simplydone.db and makes sure
// the schema exists. It is safe to call from several instances at once.
func OpenStore(ctx context.Context, dataDir string) (*Store, error) {
	if dataDir == "" {
		return nil, errors.New("todo: empty data dir")
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("todo: create data dir: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dataDir, DBFile))
	if err != nil {
		return nil, fmt.Errorf("todo: data dir: %w", err)
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("todo: data dir %q must not contain '?'", dataDir)
	}
	// A plain path (no "file:" prefix): the driver strips and applies the
	// underscore parameters. busy_timeout is applied before journal_mode, so
	// instances starting together wait for each other while switching to WAL.
	dsn := fmt.Sprintf("%s?_busy_timeout=%d&_journal_mode=WAL&_txlock=immediate",
		path, busyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("todo: open store: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &Store{db: db}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("todo: create schema: %w", err)
	}
	return s, nil
}

// init creates the schema and checks the database is in WAL mode. When many
// instances boot on a fresh directory at once, SQLite can answer SQLITE_BUSY
// without waiting (while another connection converts the file to WAL), so
// init retries busy errors for a bounded time.
func (s *Store) init(ctx context.Context) error {
	deadline := time.Now().Add(2 * busyTimeout)
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 100*time.Millisecond) {
		err := s.write(ctx, func(tx *sql.Tx) error {
			for _, stmt := range append([]string{schema}, cartSchema...) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			var mode string
			if err = classify(s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)); err == nil && mode != "wal" {
				return fmt.Errorf("journal_mode is %q, want wal", mode)
			}
		}
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
}

// Close closes the database. Later calls on the Store fail.
func (s *Store) Close() error { return s.db.Close() }

// Ping reads the schema table and reports whether the store answers. A
// read, not SELECT 1 (which never opens the database file), so that a
// database that cannot be read fails the deep health check.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&one); err != nil {
		return classify(err)
	}
	return nil
}

const columns = "id, title, done, created_at, updated_at"

type scanner interface{ Scan(dest ...any) error }

func scanTodo(row scanner) (Todo, error) {
	var t Todo
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Title, &t.Done, &created, &updated); err != nil {
		return Todo{}, err
	}
	t.CreatedAt = time.Unix(0, created).UTC()
	t.UpdatedAt = time.Unix(0, updated).UTC()
	return t, nil
}

// List returns up to limit todos with id > afterID, in id order.
func (s *Store) List(ctx context.Context, afterID int64, limit int) ([]Todo, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT "+columns+" FROM todos WHERE id > ? ORDER BY id LIMIT ?", afterID, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	todos := []Todo{}
	for rows.Next() {
		t, err := scanTodo(rows)
		if err != nil {
			return nil, classify(err)
		}
		todos = append(todos, t)
	}
	return todos, classify(rows.Err())
}

// Get returns the todo with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Todo, error) {
	t, err := scanTodo(s.db.QueryRowContext(ctx, "SELECT "+columns+" FROM todos WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Todo{}, ErrNotFound
	}
	return t, classify(err)
}

// Create inserts a todo and returns it once the transaction has committed.
func (s *Store) Create(ctx context.Context, title string, done bool) (Todo, error) {
	var t Todo
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixNano()
		res, err := tx.ExecContext(ctx,
			"INSERT INTO todos (title, done, created_at, updated_at) VALUES (?, ?, ?, ?)",
			title, done, now, now)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		t, err = scanTodo(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM todos WHERE id = ?", id))
		return err
	})
	return t, err
}

// Update sets the fields that are non-nil and returns the updated todo once
// committed, or ErrNotFound.
func (s *Store) Update(ctx context.Context, id int64, title *string, done *bool) (Todo, error) {
	var t Todo
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE todos SET title = COALESCE(?, title), done = COALESCE(?, done), updated_at = ?
			 WHERE id = ?`, title, done, time.Now().UnixNano(), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		t, err = scanTodo(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM todos WHERE id = ?", id))
		return err
	})
	return t, err
}

// Delete removes the todo, or returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM todos WHERE id = ?", id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// write runs fn in a BEGIN IMMEDIATE transaction and commits it; it returns
// nil only when the commit succeeded.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return classify(err)
	}
	return classify(tx.Commit())
}

func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// classify wraps lock-contention errors with ErrBusy; others pass through.
func classify(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", ErrBusy, err)
		}
	}
	return err
}

// cartSchema holds the carts of CartDatabase.
var cartSchema = []string{
	`CREATE TABLE IF NOT EXISTS cart_items (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	session TEXT    NOT NULL,
	item    TEXT    NOT NULL
)`,
	`CREATE INDEX IF NOT EXISTS cart_items_session ON cart_items (session, id)`,
}

// Cart returns the session's items, oldest first.
func (s *Store) Cart(ctx context.Context, session string) ([]string, error) {
	return cartItems(ctx, s.db, session)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func cartItems(ctx context.Context, q querier, session string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT item FROM cart_items WHERE session = ? ORDER BY id DESC LIMIT ?", session, MaxCartItems)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	items := []string{}
	for rows.Next() {
		var it string
		if err := rows.Scan(&it); err != nil {
			return nil, classify(err)
		}
		items = append(items, it)
	}
	slices.Reverse(items)
	return items, classify(rows.Err())
}

// AddToCart adds an item, forgets all but the newest MaxCartItems, and
// returns the cart once committed.
func (s *Store) AddToCart(ctx context.Context, session, item string) ([]string, error) {
	var items []string
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO cart_items (session, item) VALUES (?, ?)", session, item); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cart_items WHERE session = ? AND id NOT IN
			(SELECT id FROM cart_items WHERE session = ? ORDER BY id DESC LIMIT ?)`, session, session, MaxCartItems); err != nil {
			return err
		}
		var err error
		items, err = cartItems(ctx, tx, session)
		return err
	})
	return items, err
}
