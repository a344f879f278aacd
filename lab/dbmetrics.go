package lab

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// The data tier's metrics in AWS/RDS, as RDS publishes them every minute
// per DB instance (dimension DBInstanceIdentifier, cloudWatchDBInstance:
// none by DBClusterIdentifier), with RDS's names:
// CPUUtilization (the server's cgroup CPU against its class's share),
// DatabaseConnections (client connections, the lab's own excluded),
// ReplicaLag on every copy (seconds since the last transaction it replayed
// was committed: RDS's own query for PostgreSQL, extract(epoch from now() -
// pg_last_xact_replay_timestamp()), USER_PostgreSQL.Replication.
// ReadReplicas.Monitor.html; so a copy cut off from its source shows its
// lag growing, as RDS does, and so does a copy of a source that commits
// nothing), and
// FreeStorageSpace (allocated storage less the databases' size). Lag is
// wall time scaled to AWS time by the run's speed, as every duration of the
// lab is. ReadIOPS and WriteIOPS in Count/Second (dbmetrics_iops.go says
// what is counted and why).
//
// Each minute's datapoints, with who is where, are also written to the run
// directory (rundir.DatabaseFile) for the report, and kept as the latest
// reading for the TUI and the Prometheus endpoint (Lab.DatabaseNow).

// RDS metric names and their dimension.
const (
	MetricDatabaseConnections = "DatabaseConnections"
	MetricReplicaLag          = "ReplicaLag"
	MetricFreeStorageSpace    = "FreeStorageSpace"
	DimDBInstanceIdentifier   = stack.DimDBInstanceIdentifier
)

// dbMetrics samples the tier. run owns it and its connections.
type dbMetrics struct {
	l        *Lab
	conns    map[string]*pgx.Conn // by identifier: the lab's one connection to each server
	io       map[string]ioSample  // by identifier: the previous I/O reading
	procRoot string               // /proc
	out      io.Writer            // database.jsonl; nil writes nothing
}

func (m *dbMetrics) run(ctx context.Context) {
	defer m.closeAll()
	if m.procRoot == "" {
		m.procRoot = "/proc"
	}
	if f, err := createOwn(filepath.Join(m.l.Dir, rundir.DatabaseFile)); err != nil {
		m.l.opts.Logger.Warn("database metrics: the report will not have them", "err", err)
	} else {
		defer f.Close()
		m.out = f
	}
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
	pids := map[az.InstanceID]int{}
	if ins, err := m.l.dbRT.List(ctx); err == nil {
		for _, in := range ins {
			if in.State == az.StateRunning {
				pids[in.ID] = in.PID
			}
		}
	}
	sample := rundir.DBSample{AWS: now.Sub(m.l.started).Seconds()}
	for _, s := range m.l.DB.Servers() {
		row := dbInstanceRow(s, m.l.pg.Version)
		id, publish := cloudWatchDBInstance(d, s)
		put := func(metric string, v float64) {
			// the lab's views show every server, the standby too
			if publish {
				m.l.Metrics.Put(cloudwatch.Datum{Namespace: cloudwatch.NamespaceRDS, MetricName: metric,
					Dimensions: cloudwatch.Dims(DimDBInstanceIdentifier, id), Time: now, Value: v})
			}
			if row.Metrics == nil {
				row.Metrics = map[string]float64{}
			}
			row.Metrics[metric] = v
		}
		m.sampleServer(ctx, s, d, pids[s.ID], now, put)
		sample.Instances = append(sample.Instances, row)
	}
	m.l.dbNow.set(sample)
	if m.out != nil {
		b, err := json.Marshal(sample)
		if err == nil {
			_, err = m.out.Write(append(b, '\n'))
		}
		if err != nil {
			m.l.opts.Logger.Warn("database metrics: a minute is missing from the report", "file", rundir.DatabaseFile, "err", err)
		}
	}
}

// cloudWatchDBInstance is the DBInstanceIdentifier server s publishes its
// AWS/RDS metrics under, and false for one that publishes none. RDS
// publishes per DB instance; the dimensions it documents are
// DBInstanceIdentifier, DatabaseClass, EngineName and SourceRegion
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/dimensions.html):
// DBClusterIdentifier and Role are Aurora's, and a Multi-AZ DB cluster's
// metrics are its three DB instances' own, as AWS's alarm tutorial for one
// picks them (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-cluster-cloudwatch-alarm.html).
// So:
//   - a Multi-AZ DB instance is one DB instance: whichever of its pair is
//     the primary now publishes under the deployment's identifier (after a
//     failover the DB instance's metrics go on, from the new host), and the
//     standby, which has no identifier of its own, publishes nothing;
//   - each DB instance of a Multi-AZ DB cluster, writer and readers alike,
//     publishes under its own identifier, whatever its role now (an alarm
//     on one watches that instance, not the writer role); nothing is
//     published by DBClusterIdentifier;
//   - a read replica (or a promoted one, standalone) publishes under its own.
func cloudWatchDBInstance(d *stack.Database, s rds.Server) (string, bool) {
	if s.Role == stack.RoleStandby {
		return "", false
	}
	return metricIdentifier(d, s), true
}

// metricIdentifier is the DBInstanceIdentifier s's metrics carry. A
// Multi-AZ DB instance is one DB instance on AWS whichever of its two hosts
// is the primary: after a failover its metrics (and the alarms on them) go
// on under the same identifier, while the lab names its two servers apart
// ("<identifier>" and "<identifier>-standby"). Every other server is a DB
// instance of its own.
func metricIdentifier(d *stack.Database, s rds.Server) string {
	if d.MultiAZ && !d.Cluster && s.Role == stack.RolePrimary {
		return d.Identifier
	}
	return s.Identifier
}

// dbInstanceRow is s as the run directory records it, without metrics.
func dbInstanceRow(s rds.Server, version string) rundir.DBInstance {
	engine := "postgres"
	if v, _, _ := strings.Cut(version, " "); v != "" {
		engine += " " + v
	}
	return rundir.DBInstance{Identifier: s.Identifier, Role: string(s.Role), Zone: s.Zone.Name, Class: s.Class.Name,
		Engine: engine, Addr: s.AddrPort().String(), MaxConnections: s.MaxConnections}
}

// sampleServer reads one server's metrics for the minute and puts them.
func (m *dbMetrics) sampleServer(ctx context.Context, s rds.Server, d *stack.Database, pid int, now time.Time, put func(string, float64)) {
	if st, err := m.l.dbRT.Stats(ctx, s.ID); err == nil {
		put(cloudwatch.MetricCPUUtilization, st.CPUUtilization)
	}
	if pid > 0 {
		if r, w, err := readServerIO(m.procRoot, pid); err == nil {
			cur := ioSample{pid: pid, reads: r, write: w, at: now}
			prev, had := m.io[s.Identifier]
			rr, wr, ok := iops(prev, cur)
			if had && ok {
				put(MetricReadIOPS, rr)
				put(MetricWriteIOPS, wr)
			}
			if m.io == nil {
				m.io = map[string]ioSample{}
			}
			// a counter that went back on the same server is a backend not yet
			// reaped: keep the earlier reading, so that next minute's rate
			// spans both minutes instead of counting the backend's I/O twice
			if ok || !had || prev.pid != cur.pid {
				m.io[s.Identifier] = cur
			}
		}
	}
	c, err := m.conn(ctx, s)
	if err != nil {
		return // a server that does not answer publishes no datapoint, as a failed instance's metrics stop
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	var clients int64
	var lag float64
	var size int64
	// DatabaseConnections leaves out "Amazon RDS connections" (CloudWatch's
	// definition): here the tier's monitor, by its application_name
	err = c.QueryRow(qctx, `SELECT
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
			AND application_name <> $1),
		CASE WHEN NOT pg_is_in_recovery() THEN 0
		     ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END,
		(SELECT COALESCE(sum(pg_database_size(datname)), 0)::bigint FROM pg_database)`, rds.MonitorApplicationName).Scan(&clients, &lag, &size)
	cancel()
	if err != nil {
		c.Close(context.Background())
		delete(m.conns, s.Identifier)
		return
	}
	put(MetricDatabaseConnections, float64(clients))
	if s.Role != stack.RolePrimary && s.Role != rds.RoleStandalone { // a promoted read replica replicates from nothing
		put(MetricReplicaLag, lag*m.l.Clock.Speed())
	}
	put(MetricFreeStorageSpace, float64(int64(d.AllocatedStorage)<<30-size))
}

// dbReadings is the latest minute's reading of the tier, for the views
// that show it live (the TUI's observation, the Prometheus endpoint). The
// zero value holds none.
type dbReadings struct {
	mu    sync.Mutex
	last  *rundir.DBSample
	peaks []rundir.DBPeak // every minute so far, folded (the summary's)
}

func (r *dbReadings) set(s rundir.DBSample) {
	r.mu.Lock()
	r.last = &s
	r.peaks = rundir.Peaks(append(peakSamples(r.peaks), s))
	r.mu.Unlock()
}

// peakSamples turns peaks back into one sample, so that folding a new
// minute into them gives the peaks over every minute.
func peakSamples(ps []rundir.DBPeak) []rundir.DBSample {
	if len(ps) == 0 {
		return nil
	}
	s := rundir.DBSample{}
	for _, p := range ps {
		m := map[string]float64{"DatabaseConnections": p.Connections, "CPUUtilization": p.CPU, "ReplicaLag": p.ReplicaLag, "WriteIOPS": p.WriteIOPS, "ReadIOPS": p.ReadIOPS}
		s.Instances = append(s.Instances, rundir.DBInstance{Identifier: p.Identifier, Role: p.Role, Zone: p.Zone, Class: p.Class, MaxConnections: p.MaxConnections, Metrics: m})
	}
	return []rundir.DBSample{s}
}

// databasePeaks is each DB instance's busiest minutes so far; nil without
// a database.
func (l *Lab) databasePeaks() []rundir.DBPeak {
	l.dbNow.mu.Lock()
	defer l.dbNow.mu.Unlock()
	return append([]rundir.DBPeak(nil), l.dbNow.peaks...)
}

// DatabaseNow is the data tier's latest minute: who is where and each DB
// instance's AWS/RDS metrics; false before the first minute or without a
// database.
func (l *Lab) DatabaseNow() (rundir.DBSample, bool) {
	l.dbNow.mu.Lock()
	defer l.dbNow.mu.Unlock()
	if l.dbNow.last == nil {
		return rundir.DBSample{}, false
	}
	return *l.dbNow.last, true
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

// databaseObservation is the tier as Observation shows it: the servers'
// roles and zones now (the tier keeps them current through a failover),
// each with its latest minute's metrics.
func (l *Lab) databaseObservation() []DBInstanceState {
	if l.DB == nil {
		return nil
	}
	now, _ := l.DatabaseNow()
	latest := map[string]map[string]float64{}
	for _, in := range now.Instances {
		latest[in.Identifier] = in.Metrics
	}
	var out []DBInstanceState
	for _, s := range l.DB.Servers() {
		st := DBInstanceState{Identifier: s.Identifier, Role: string(s.Role), Zone: s.Zone.Name, Class: s.Class.Name, MaxConnections: s.MaxConnections}
		m := latest[s.Identifier]
		st.CPU, st.HasCPU = m[cloudwatch.MetricCPUUtilization]
		st.Connections, st.HasConnections = m[MetricDatabaseConnections]
		st.ReplicaLag, st.HasLag = m[MetricReplicaLag]
		var okR, okW bool
		st.ReadIOPS, okR = m[MetricReadIOPS]
		st.WriteIOPS, okW = m[MetricWriteIOPS]
		st.HasIOPS = okR && okW
		out = append(out, st)
	}
	return out
}
