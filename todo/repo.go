package todo

import (
	"context"
	"errors"
	"fmt"
)

// Repo is where SimplyDone keeps its todos: the embedded SQLite Store, or
// PostgreSQL (PGStore) when the stack has a database. The handler knows
// only this.
type Repo interface {
	List(ctx context.Context, afterID int64, limit int) ([]Todo, error)
	Get(ctx context.Context, id int64) (Todo, error)
	Create(ctx context.Context, title string, done bool) (Todo, error)
	Update(ctx context.Context, id int64, title *string, done *bool) (Todo, error)
	Delete(ctx context.Context, id int64) error
	// Ping is the deep health check: it fails when the store cannot answer.
	Ping(ctx context.Context) error
	Close() error
}

// ErrUnavailable wraps store errors that say the database cannot be reached
// or takes no more connections (a failover under way, max_connections
// reached); the HTTP layer answers them with 503 and logs them, as a web
// server logs its database connection errors.
var ErrUnavailable = errors.New("database unavailable")

// openRepo opens the store cfg asks for: PostgreSQL when DatabaseURL is
// set, else SQLite in DataDir. It says which in kind.
func openRepo(ctx context.Context, cfg Config) (r Repo, kind string, err error) {
	if cfg.DatabaseURL != "" {
		pg, err := OpenPostgres(ctx, PGConfig{WriterURL: cfg.DatabaseURL, ReaderURL: cfg.ReaderURL, PoolSize: cfg.PoolSize, DNSResolver: cfg.DNSResolver})
		if err != nil {
			return nil, "", err
		}
		kind := pg.Kind()
		if cfg.DBQueryCost > 0 {
			kind += fmt.Sprintf(" (each statement preceded by a query costing the database %s of CPU)", cfg.DBQueryCost)
		}
		r, err := withQueryCost(ctx, pg, cfg.DBQueryCost)
		if err != nil {
			pg.Close()
			return nil, "", err
		}
		return r, kind, nil
	}
	s, err := OpenStore(ctx, cfg.DataDir)
	if err != nil {
		return nil, "", err
	}
	return s, "sqlite " + cfg.DataDir, nil
}
