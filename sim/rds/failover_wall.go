package rds

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/simplydone/lab/sim/az"
)

// The failover's own wall time. RDS's failover time is AWS time, and the
// lab holds the endpoint until it has passed; but what the lab itself
// takes (noticing the failure, choosing and promoting the target) counts
// too, at the run's speed: at 60x every wall millisecond is 60 AWS ms, and
// a cluster's 35 s is 583 wall ms. So the path spends no wall time it need
// not: a server the tier killed itself (kill-db, an az-outage) is known
// down at once, without waiting for the runtime to reap it or for the
// monitor's next tick; the candidates' WAL is read from all of them at
// once; and one connection per server serves the failover from its first
// query to the last poll of the promotion (a new one costs a backend's
// start and a SCRAM exchange). What is left is PostgreSQL's own promotion
// and the old primary's processes ending (the fence waits for them); the
// tier reports a failover that ran over RDS's figure (FailoverStep.Overran).
// Measured (TestMeasureFailover, cluster, 8 rounds each on a host at load
// 9-18 on 2 cores): at 60x the endpoint moved at 42.8-98.0 AWS s before,
// 35.0-43.5 after (7 of 8 at 35.0-36.8); at 20x at 35.0 both.

// killedNow notes that the tier killed s itself and wakes the monitor, so
// that a lost primary is acted on at once.
func (t *Tier) killedNow(s Server) {
	t.mu.Lock()
	if t.killing == nil {
		t.killing = map[az.InstanceID]bool{}
	}
	t.killing[s.ID] = true
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default: // a check is due already (or there is no monitor: tests)
	}
}

// killed reports whether the tier killed s and the runtime may not have
// seen it end yet; once the runtime no longer runs it (running false), the
// note is dropped and the runtime's state rules again.
func (t *Tier) killed(s Server, running bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !running {
		delete(t.killing, s.ID)
		return false
	}
	return t.killing[s.ID]
}

// failoverConns are a failover's connections, one per server, opened on
// first use and closed when it ends. Each is used by one goroutine at a
// time (heldWAL asks different servers at once).
type failoverConns struct {
	t  *Tier
	mu sync.Mutex
	m  map[string]*pgx.Conn // by identifier
}

func (t *Tier) newFailoverConns() *failoverConns {
	return &failoverConns{t: t, m: map[string]*pgx.Conn{}}
}

// get is the connection to s, opened if there is none.
func (f *failoverConns) get(ctx context.Context, s Server) (*pgx.Conn, error) {
	f.mu.Lock()
	c := f.m[s.Identifier]
	f.mu.Unlock()
	if c != nil && !c.IsClosed() {
		return c, nil
	}
	c, err := f.t.Connect(ctx, s)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.m[s.Identifier] = c
	f.mu.Unlock()
	return c, nil
}

// drop closes the connection to s (a query on it failed): the next get
// opens another.
func (f *failoverConns) drop(s Server) {
	f.mu.Lock()
	c := f.m[s.Identifier]
	delete(f.m, s.Identifier)
	f.mu.Unlock()
	if c != nil {
		c.Close(context.Background())
	}
}

func (f *failoverConns) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.m {
		c.Close(context.Background())
		delete(f.m, id)
	}
}

// heldWAL asks each server at once how much WAL it holds (0: no answer).
func (f *failoverConns) heldWAL(ctx context.Context, servers []Server) map[string]uint64 {
	out := make([]uint64, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { out[i] = f.replayLSN(ctx, s) })
	}
	wg.Wait()
	m := make(map[string]uint64, len(servers))
	for i, s := range servers {
		m[s.Identifier] = out[i]
	}
	return m
}

// replayLSN is how much WAL s holds, received or replayed (0 when it
// cannot tell).
func (f *failoverConns) replayLSN(ctx context.Context, s Server) uint64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := f.get(ctx, s)
	if err != nil {
		return 0
	}
	var n uint64
	// what it received, replayed or not: a promotion replays it all first
	if err := c.QueryRow(ctx, `SELECT COALESCE(pg_wal_lsn_diff(GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), '0/0'), 0)::bigint`).Scan(&n); err != nil {
		f.drop(s)
		return 0
	}
	return n
}
