package todo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// A knob for the scaling journey's database stories: the database work a
// real app's page costs beyond SimplyDone's own indexed queries (an
// unindexed filter, a count for the page's totals, a small report). With
// Config.DBQueryCost set, every statement SimplyDone sends is preceded, on
// the same endpoint (reads on the reader, writes on the writer), by a
// query that keeps the database server's backend on a CPU for that much
// CPU time: so a busy database runs hot, queues and saturates as a real
// one does, and a read replica takes the reads' share.
//
// The cost is CPU time, not an amount of work, as SIMPLYDONE_CPU_COST's
// is on the instance (burn.go): a story's database needs the same share
// of a core on a fast host and on a slow one, and on a host whose speed
// drifts (this one's runs the same aggregate in 40 ms, then in 60). The
// query (queryCostSQL) counts generated rows, a thousand at a time, until
// the backend has run for the cost; a backend waiting for a CPU (its
// instance class's share used up, a busy host) does not count the wait.
// How long it has run comes from the kernel's figure, /proc/self/schedstat,
// which the kernel brings up to date only at its scheduler ticks (1-10 ms
// apart) and when the backend leaves the CPU: read alone, a loop for 10 ms
// runs 12 (measured). So the loop adds to the figure the wall time since
// it last changed: the figure changes when the backend is taken off the
// CPU and put back too, so that wall time is time on the CPU, to within
// one count of a thousand rows (0.1 ms).
//
// Reading /proc/self/schedstat takes pg_read_file on an absolute path,
// which only a superuser or a member of pg_read_server_files may call. The
// lab's instances connect as a role with neither (as on RDS, where the
// master user is no superuser): the lab makes CPUTimeFunction in the
// database, a SECURITY DEFINER function that returns the calling
// backend's CPU time and nothing else, and lets the instances' role call
// it. Where the function is not there, the query reads the file itself.

// CPUTimeFunction is the function, made by the lab in its database, that
// returns the calling backend's CPU time in nanoseconds.
const CPUTimeFunction = "lab_backend_cpu_ns"

// CPUTimeFunctionSQL makes CPUTimeFunction, callable by role only (an SQL
// identifier, quoted as needed); run it as a superuser.
func CPUTimeFunctionSQL(role string) []string {
	return []string{
		"CREATE OR REPLACE FUNCTION public." + CPUTimeFunction + "() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS " +
			"$$ SELECT " + cpuTimeSQL + " $$",
		"REVOKE ALL ON FUNCTION public." + CPUTimeFunction + "() FROM PUBLIC",
		"GRANT EXECUTE ON FUNCTION public." + CPUTimeFunction + "() TO " + role,
	}
}

// cpuTimeSQL is the backend's CPU time in nanoseconds (the first field of
// /proc/self/schedstat).
const cpuTimeSQL = "split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint"

// queryCostSQL keeps the backend on a CPU until it has run for %d
// nanoseconds: its CPU time as of the kernel's last update (through
// CPUTimeFunction where the lab made it, else pg_read_file), plus the wall
// time since that figure changed. The set-returning function in the
// select list streams its rows to the count; in FROM it would first store
// them all.
const queryCostSQL = `DO $$
DECLARE
  fn boolean := to_regprocedure('public.` + CPUTimeFunction + `()') IS NOT NULL;
  t0 bigint;
  tick bigint;
  seen timestamptz;
  cur bigint;
BEGIN
  LOOP
    IF fn THEN
      cur := public.` + CPUTimeFunction + `();
    ELSE
      cur := ` + cpuTimeSQL + `;
    END IF;
    IF t0 IS NULL THEN
      t0 := cur;
    END IF;
    IF tick IS DISTINCT FROM cur THEN
      tick := cur;
      seen := clock_timestamp();
    END IF;
    EXIT WHEN tick - t0 + extract(epoch FROM clock_timestamp() - seen) * 1e9 >= %d;
    PERFORM count(*) FROM (SELECT generate_series(1, 1000)) AS g;
  END LOOP;
END $$`

// queryCost wraps a PostgreSQL store with the costly query before each
// statement.
type queryCost struct {
	*PGStore
	sql string
}

// withQueryCost is s with the costly query, or s itself when cost is 0.
// It runs the query once, with no cost, on the writer and on the reader,
// so that a database that cannot (no /proc/self/schedstat, a role that
// may not read it) is an error at the start, not on every request. A
// database that does not answer now (down, failing over, full) is not
// one: the instance boots, as it does without the cost.
func withQueryCost(ctx context.Context, s *PGStore, cost time.Duration) (Repo, error) {
	if cost <= 0 {
		return s, nil
	}
	check := fmt.Sprintf(queryCostSQL, 0)
	for _, e := range []struct {
		name string
		pool *pgxpool.Pool
	}{{"writer", s.writer}, {"reader", s.reader}} {
		_, err := e.pool.Exec(ctx, check)
		if err := classifyPG(err); err != nil && !errors.Is(err, ErrUnavailable) && !full(err) {
			return nil, fmt.Errorf("db query cost %s: the %s cannot run the costly query (it reads the backend's CPU time from /proc/self/schedstat: with the lab's %s(), or with pg_read_file as a superuser or a member of pg_read_server_files): %w", cost, e.name, CPUTimeFunction, err)
		}
	}
	return queryCost{PGStore: s, sql: fmt.Sprintf(queryCostSQL, cost.Nanoseconds())}, nil
}

func (c queryCost) query(ctx context.Context, reader bool) error {
	pool := c.writer
	if reader {
		pool = c.reader
	}
	if _, err := pool.Exec(ctx, c.sql); err != nil {
		return classifyPG(err)
	}
	return nil
}

func (c queryCost) List(ctx context.Context, afterID int64, limit int) ([]Todo, error) {
	if err := c.query(ctx, true); err != nil {
		return nil, err
	}
	return c.PGStore.List(ctx, afterID, limit)
}

func (c queryCost) Get(ctx context.Context, id int64) (Todo, error) {
	if err := c.query(ctx, true); err != nil {
		return Todo{}, err
	}
	return c.PGStore.Get(ctx, id)
}

func (c queryCost) Create(ctx context.Context, title string, done bool) (Todo, error) {
	if err := c.query(ctx, false); err != nil {
		return Todo{}, err
	}
	return c.PGStore.Create(ctx, title, done)
}

func (c queryCost) Update(ctx context.Context, id int64, title *string, done *bool) (Todo, error) {
	if err := c.query(ctx, false); err != nil {
		return Todo{}, err
	}
	return c.PGStore.Update(ctx, id, title, done)
}

func (c queryCost) Delete(ctx context.Context, id int64) error {
	if err := c.query(ctx, false); err != nil {
		return err
	}
	return c.PGStore.Delete(ctx, id)
}
