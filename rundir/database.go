package rundir

import (
	"fmt"
	"io"
)

// DatabaseFile holds one DBSample per AWS minute of a run whose stack has a
// database: who is where, and each DB instance's AWS/RDS metrics for the
// minute, as CloudWatch received them.
const DatabaseFile = "database.jsonl"

// DBSample is the data tier at one AWS minute.
type DBSample struct {
	AWS       float64      `json:"aws_s"` // AWS seconds since the run started, as seconds.jsonl's
	Instances []DBInstance `json:"instances"`
}

// DBInstance is one DB instance: its place in the tier and its metrics.
type DBInstance struct {
	Identifier string `json:"identifier"` // DBInstanceIdentifier
	Role       string `json:"role"`       // primary, standby, reader, read-replica
	Zone       string `json:"zone"`
	Class      string `json:"class"`  // db_instance_class
	Engine     string `json:"engine"` // "postgres 17.2"
	Addr       string `json:"addr"`
	// MaxConnections is the server's max_connections (RDS's formula for its class).
	MaxConnections int `json:"max_connections"`
	// Metrics are the minute's AWS/RDS datapoints by CloudWatch's metric
	// name (CPUUtilization, DatabaseConnections, ReplicaLag, ReadIOPS,
	// WriteIOPS, FreeStorageSpace); a metric the instance did not publish
	// this minute (it did not answer) is absent.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Primary is the sample's primary, if one answered the topology.
func (s DBSample) Primary() (DBInstance, bool) {
	for _, in := range s.Instances {
		if in.Role == "primary" {
			return in, true
		}
	}
	return DBInstance{}, false
}

// DBPeak is one DB instance's busiest AWS/RDS minutes over the run, for the
// summary: its role and zone at the end, and each metric's highest minute
// (connections against max_connections: at the maximum, clients are refused).
type DBPeak struct {
	Identifier     string  `json:"identifier"`
	Role           string  `json:"role"`
	Zone           string  `json:"zone"`
	Class          string  `json:"class"`
	MaxConnections int     `json:"max_connections"`
	Connections    float64 `json:"peak_connections"`
	CPU            float64 `json:"peak_cpu"`
	ReplicaLag     float64 `json:"peak_replica_lag,omitempty"`
	WriteIOPS      float64 `json:"peak_write_iops"`
	ReadIOPS       float64 `json:"peak_read_iops"`
}

// AtMax reports whether its connections reached max_connections (the
// lab's own connection, one, is not counted in DatabaseConnections, so one
// below is the clients' maximum).
func (p DBPeak) AtMax() bool {
	return p.MaxConnections > 0 && p.Connections >= float64(p.MaxConnections-1)
}

// Peaks folds the samples into each DB instance's peaks, in the tier's
// order as first seen; role and zone are the last sample's.
func Peaks(samples []DBSample) []DBPeak {
	var out []DBPeak
	at := map[string]int{}
	for _, s := range samples {
		for _, in := range s.Instances {
			i, ok := at[in.Identifier]
			if !ok {
				i = len(out)
				at[in.Identifier] = i
				out = append(out, DBPeak{Identifier: in.Identifier})
			}
			p := &out[i]
			p.Role, p.Zone, p.Class, p.MaxConnections = in.Role, in.Zone, in.Class, in.MaxConnections
			p.Connections = max(p.Connections, in.Metrics["DatabaseConnections"])
			p.CPU = max(p.CPU, in.Metrics["CPUUtilization"])
			p.ReplicaLag = max(p.ReplicaLag, in.Metrics["ReplicaLag"])
			p.WriteIOPS = max(p.WriteIOPS, in.Metrics["WriteIOPS"])
			p.ReadIOPS = max(p.ReadIOPS, in.Metrics["ReadIOPS"])
		}
	}
	return out
}

// writeDatabase prints the data tier's lines of the summary table.
func writeDatabase(w io.Writer, peaks []DBPeak) {
	if len(peaks) == 0 {
		return
	}
	fmt.Fprintln(w, "\nDatabase (AWS/RDS, the busiest minute of each)")
	for _, p := range peaks {
		conns := fmt.Sprintf("DatabaseConnections %.0f of max_connections %d", p.Connections, p.MaxConnections)
		if p.AtMax() {
			conns += " (AT THE MAXIMUM: new connections refused)"
		}
		line := fmt.Sprintf("  %s %s in %s (%s): %s, CPUUtilization %.0f%%, WriteIOPS %.1f, ReadIOPS %.1f", p.Identifier, p.Role, p.Zone, p.Class, conns, p.CPU, p.WriteIOPS, p.ReadIOPS)
		if p.Role != "primary" {
			line += fmt.Sprintf(", ReplicaLag %.1f s", p.ReplicaLag)
		}
		fmt.Fprintln(w, line)
	}
}
