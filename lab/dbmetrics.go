package lab

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// The data tier's metrics in AWS/RDS, as RDS publishes them every minute
// per DB instance (dimension DBInstanceIdentifier), with RDS's names:
// CPUUtilization (the server's cgroup CPU against its class's share),
// DatabaseConnections (client connections, the lab's own excluded),
// ReplicaLag on every copy (seconds since the last transaction it replayed
// was committed, from pg_last_xact_replay_timestamp() as RDS computes it
// for PostgreSQL; 0 when it has replayed all it received), and
// FreeStorageSpace (allocated storage less the databases' size). Lag is
// wall time scaled to AWS time by the run's speed, as every duration of the
// lab is. ReadIOPS and WriteIOPS are not measured.

// RDS metric names and their dimension.
const (
	MetricDatabaseConnections = "DatabaseConnections"
	MetricReplicaLag          = "ReplicaLag"
	MetricFreeStorageSpace    = "FreeStorageSpace"
	DimDBInstanceIdentifier   = "DBInstanceIdentifier"
)

// dbMetrics samples the tier. run owns it and its connections.
type dbMetrics struct {
	l     *Lab
	conns map[string]*pgx.Conn // by identifier: the lab's one connection to each server
}

func (m *dbMetrics) run(ctx context.Context) {
	defer m.closeAll()
	tk := m.l.Clock.NewTicker(time.Minute)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C():
			m.sample(ctx)
		}
	}
}

func (m *dbMetrics) closeAll() {
	for id, c := range m.conns {
		c.Close(context.Background())
		delete(m.conns, id)
	}
}

func (m *dbMetrics) sample(ctx context.Context) {
	now := m.l.Clock.Now()
	d := m.l.opts.Stack.Database
	for _, s := range m.l.DB.Servers() {
		put := func(metric string, v float64) {
			m.l.Metrics.Put(cloudwatch.Datum{Namespace: cloudwatch.NamespaceRDS, MetricName: metric,
				Dimensions: cloudwatch.Dims(DimDBInstanceIdentifier, s.Identifier), Time: now, Value: v})
		}
		if st, err := m.l.dbRT.Stats(ctx, s.ID); err == nil {
			put(cloudwatch.MetricCPUUtilization, st.CPUUtilization)
		}
		c, err := m.conn(ctx, s)
		if err != nil {
			continue // a server that does not answer publishes no datapoint, as a failed instance's metrics stop
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var clients int64
		var lag float64
		var size int64
		err = c.QueryRow(qctx, `SELECT
			(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()),
			CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
			     ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END,
			(SELECT COALESCE(sum(pg_database_size(datname)), 0)::bigint FROM pg_database)`).Scan(&clients, &lag, &size)
		cancel()
		if err != nil {
			c.Close(context.Background())
			delete(m.conns, s.Identifier)
			continue
		}
		put(MetricDatabaseConnections, float64(clients))
		if s.Role != stack.RolePrimary {
			put(MetricReplicaLag, lag*m.l.Clock.Speed())
		}
		put(MetricFreeStorageSpace, float64(int64(d.AllocatedStorage)<<30-size))
	}
}

// conn is the lab's connection to s, opened on first use.
func (m *dbMetrics) conn(ctx context.Context, s rds.Server) (*pgx.Conn, error) {
	if c, ok := m.conns[s.Identifier]; ok {
		return c, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := m.l.DB.Connect(cctx, s)
	if err != nil {
		return nil, err
	}
	if m.conns == nil {
		m.conns = map[string]*pgx.Conn{}
	}
	m.conns[s.Identifier] = c
	return c, nil
}
