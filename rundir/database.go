package rundir

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
