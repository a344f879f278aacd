package todo

import (
	"context"
	"fmt"
)

// A knob for the scaling journey's database stories: the database work a
// real app's page costs beyond SimplyDone's own indexed queries (an
// unindexed filter, a count for the page's totals, a small report). With
// Config.DBScanRows set, every statement SimplyDone sends is preceded, on
// the same endpoint (reads on the reader, writes on the writer), by an
// aggregate over that many generated rows: work on the database server's
// CPU, so a busy database runs hot, queues and saturates as a real one
// does, and a read replica takes the reads' share. Measured on the lab's
// host: 0.4 µs of a core a row on a quiet host (20,000 rows in 8 ms), 0.8 µs
// when the host is busy; a db.t3.micro has a quarter core in the lab.

// scanCost wraps a PostgreSQL store with the scan before each statement.
type scanCost struct {
	*PGStore
	rows int
}

// withScanCost is s with the scan, or s itself when rows is 0.
func withScanCost(s *PGStore, rows int) Repo {
	if rows <= 0 {
		return s
	}
	return scanCost{PGStore: s, rows: rows}
}

func (c scanCost) scan(ctx context.Context, reader bool) error {
	pool := c.writer
	if reader {
		pool = c.reader
	}
	var n int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, $1::int)", c.rows).Scan(&n); err != nil {
		return classifyPG(err)
	}
	if n != int64(c.rows) {
		return fmt.Errorf("scan: %d rows, want %d", n, c.rows)
	}
	return nil
}

func (c scanCost) List(ctx context.Context, afterID int64, limit int) ([]Todo, error) {
	if err := c.scan(ctx, true); err != nil {
		return nil, err
	}
	return c.PGStore.List(ctx, afterID, limit)
}

func (c scanCost) Get(ctx context.Context, id int64) (Todo, error) {
	if err := c.scan(ctx, true); err != nil {
		return Todo{}, err
	}
	return c.PGStore.Get(ctx, id)
}

func (c scanCost) Create(ctx context.Context, title string, done bool) (Todo, error) {
	if err := c.scan(ctx, false); err != nil {
		return Todo{}, err
	}
	return c.PGStore.Create(ctx, title, done)
}

func (c scanCost) Update(ctx context.Context, id int64, title *string, done *bool) (Todo, error) {
	if err := c.scan(ctx, false); err != nil {
		return Todo{}, err
	}
	return c.PGStore.Update(ctx, id, title, done)
}

func (c scanCost) Delete(ctx context.Context, id int64) error {
	if err := c.scan(ctx, false); err != nil {
		return err
	}
	return c.PGStore.Delete(ctx, id)
}
