package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/simplydone/lab/rundir"
)

// The data tier in the report, from database.jsonl: who is where (the
// primary, the standby and each replica, their zone, engine and class), at
// the start and, when a failover moved a role, at the end; each DB
// instance's AWS/RDS metrics over the run as a table and charts. The RDS
// events (kind "database": failover steps, RDS's event messages) are in
// the timeline and on the charts as markers.

// DatabaseKind is the event kind of the data tier's events.
const DatabaseKind = "database"

// DBTier is the report's data tier section.
type DBTier struct {
	Start []DBRow `json:"start"`
	// End is the tier at the last minute, when a role or zone changed.
	End  []DBRow `json:"end,omitempty"`
	Note string  `json:"note"`
}

// DBRow is one DB instance and its AWS/RDS metrics over the run.
type DBRow struct {
	Identifier     string `json:"identifier"`
	Role           string `json:"role"`
	Zone           string `json:"zone"`
	Class          string `json:"class"`
	Engine         string `json:"engine"`
	MaxConnections int    `json:"max_connections"`
	// Each metric as "mean / max" over the minutes it was published
	// ("—" when never): CPU in %, connections, IOPS in Count/Second, lag in
	// seconds, free storage in GiB (its least).
	CPU         string `json:"cpu"`
	Connections string `json:"connections"`
	ReadIOPS    string `json:"read_iops"`
	WriteIOPS   string `json:"write_iops"`
	ReplicaLag  string `json:"replica_lag"`
	FreeGiB     string `json:"free_gib"`
}

// dbStat is one metric of one DB instance over the run.
type dbStat struct {
	n             int
	sum, min, max float64
	firstMinute   float64
	pts           []Pt
	identifier, m string
	role          string
}

func (s *dbStat) add(x, v float64) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	s.sum += v
	s.pts = append(s.pts, Pt{x, r3(v)})
}

func (s *dbStat) meanMax(unit string) string {
	if s == nil || s.n == 0 {
		return "—"
	}
	return trimNum(r1(s.sum/float64(s.n))) + " / " + trimNum(r1(s.max)) + unit
}

// dbStats gathers every DB instance's metrics: by identifier, then metric.
func dbStats(samples []rundir.DBSample) (map[string]map[string]*dbStat, []string) {
	out := map[string]map[string]*dbStat{}
	var order []string
	for _, s := range samples {
		x := r3(s.AWS / 60)
		for _, in := range s.Instances {
			if out[in.Identifier] == nil {
				out[in.Identifier] = map[string]*dbStat{}
				order = append(order, in.Identifier)
			}
			for m, v := range in.Metrics {
				st := out[in.Identifier][m]
				if st == nil {
					st = &dbStat{identifier: in.Identifier, m: m, role: in.Role}
					out[in.Identifier][m] = st
				}
				st.add(x, v)
			}
		}
	}
	return out, order
}

// dbTier is the section, or nil for a run without a database.
func (a *analysis) dbTier() *DBTier {
	samples := a.run.Database
	if len(samples) == 0 {
		return nil
	}
	stats, _ := dbStats(samples)
	rows := func(s rundir.DBSample) []DBRow {
		var out []DBRow
		for _, in := range s.Instances {
			st := stats[in.Identifier]
			free := "—"
			if f := st["FreeStorageSpace"]; f != nil && f.n > 0 {
				free = trimNum(r1(f.min / (1 << 30)))
			}
			out = append(out, DBRow{Identifier: in.Identifier, Role: in.Role, Zone: in.Zone, Class: in.Class, Engine: in.Engine,
				MaxConnections: in.MaxConnections, CPU: st["CPUUtilization"].meanMax("%"), Connections: st["DatabaseConnections"].meanMax(""),
				ReadIOPS: st["ReadIOPS"].meanMax(""), WriteIOPS: st["WriteIOPS"].meanMax(""), ReplicaLag: st["ReplicaLag"].meanMax(" s"), FreeGiB: free})
		}
		return out
	}
	t := &DBTier{Start: rows(samples[0])}
	if last := rows(samples[len(samples)-1]); !sameTopology(t.Start, last) {
		t.End = last
	}
	t.Note = fmt.Sprintf("AWS/RDS, one datapoint per DB instance and AWS minute (%d minutes): mean / max over the run. CPUUtilization is the server's cgroup against its class's vCPUs; "+
		"DatabaseConnections the client connections (the lab's own excluded) against max_connections; ReadIOPS and WriteIOPS (Count/Second) the server's read and write system calls on its files "+
		"(an upper bound of the disk operations RDS counts: the host's page cache answers some reads); ReplicaLag from pg_last_xact_replay_timestamp(), in AWS seconds; FreeStorageSpace the allocated storage less the databases' size, its least.", len(samples))
	return t
}

// sameTopology reports whether two lists hold the same instances in the
// same roles and zones.
func sameTopology(a, b []DBRow) bool {
	key := func(rs []DBRow) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Identifier+"|"+r.Role+"|"+r.Zone)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// dbColors colour the DB instances, in the tier's order.
var dbColors = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"}

// dbCharts are the AWS/RDS metrics over the run, one line per DB
// instance: connections against max_connections, CPU, IOPS, replica lag.
func (a *analysis) dbCharts() []Chart {
	samples := a.run.Database
	if len(samples) == 0 {
		return nil
	}
	stats, order := dbStats(samples)
	label := map[string]string{}
	maxConns := 0
	for _, s := range samples {
		for _, in := range s.Instances {
			label[in.Identifier] = in.Identifier + " (" + in.Role + ", " + in.Zone + ")"
			if in.Role == "primary" {
				maxConns = max(maxConns, in.MaxConnections)
			}
		}
	}
	chart := func(id, title, ylabel string, metrics []string, top float64) (Chart, bool) {
		c := Chart{ID: id, Title: title, YLabel: ylabel, YTop: top}
		for i, ident := range order {
			for k, m := range metrics {
				st := stats[ident][m]
				if st == nil || st.n == 0 {
					continue
				}
				name := label[ident]
				if len(metrics) > 1 {
					name = m + " " + name
				}
				c.Series = append(c.Series, Series{Name: name, Color: dbColors[i%len(dbColors)], Dash: k > 0, Wide: st.role == "primary", Pts: st.pts})
			}
		}
		return c, len(c.Series) > 0
	}
	var out []Chart
	if c, ok := chart("db-connections", "AWS/RDS DatabaseConnections per DB instance, against the primary's max_connections", "connections", []string{"DatabaseConnections"}, 0); ok {
		if maxConns > 0 {
			c.HLines = []HLine{{Y: float64(maxConns), Label: fmt.Sprintf("max_connections %d", maxConns), Color: "#d62728"}}
		}
		out = append(out, c)
	}
	if c, ok := chart("db-cpu", "AWS/RDS CPUUtilization per DB instance", "% CPU", []string{"CPUUtilization"}, 100); ok {
		out = append(out, c)
	}
	if c, ok := chart("db-iops", "AWS/RDS WriteIOPS (solid) and ReadIOPS (dashed) per DB instance", "Count/Second", []string{"WriteIOPS", "ReadIOPS"}, 0); ok {
		out = append(out, c)
	}
	if c, ok := chart("db-lag", "AWS/RDS ReplicaLag per standby and replica", "s (AWS)", []string{"ReplicaLag"}, 0); ok {
		out = append(out, c)
	}
	return out
}

// dbFigures are the tier's headline figures for `lab compare`: the
// primary's (whoever held the role each minute) peak connections and CPU,
// the readable copies' peak CPU and the worst replica lag.
type dbFigures struct {
	ok                          bool
	primaryConnsMax, primaryCPU float64 // max
	primaryCPUMean              float64
	readersCPUMax, lagMax       float64
	instances                   int
}

func databaseFigures(samples []rundir.DBSample) dbFigures {
	var f dbFigures
	var cpuSum float64
	var cpuN int
	for _, s := range samples {
		f.ok = true
		f.instances = max(f.instances, len(s.Instances))
		for _, in := range s.Instances {
			cpu, hasCPU := in.Metrics["CPUUtilization"]
			switch {
			case in.Role == "primary":
				f.primaryConnsMax = max(f.primaryConnsMax, in.Metrics["DatabaseConnections"])
				if hasCPU {
					f.primaryCPU = max(f.primaryCPU, cpu)
					cpuSum += cpu
					cpuN++
				}
			case strings.Contains(in.Role, "replica") || in.Role == "reader":
				f.readersCPUMax = max(f.readersCPUMax, cpu)
			}
			if lag, ok := in.Metrics["ReplicaLag"]; ok {
				f.lagMax = max(f.lagMax, lag)
			}
		}
	}
	if cpuN > 0 {
		f.primaryCPUMean = cpuSum / float64(cpuN)
	}
	return f
}
