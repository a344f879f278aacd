package rundir

import (
	"bytes"
	"strings"
	"testing"
)

// Each DB instance's busiest minute per metric, its role and zone at the
// end; a primary whose clients filled max_connections is called out.
func TestPeaksAndSummaryLines(t *testing.T) {
	samples := []DBSample{
		{AWS: 60, Instances: []DBInstance{
			{Identifier: "db", Role: "primary", Zone: "us-east-1a", Class: "db.t3.micro", MaxConnections: 112, Metrics: map[string]float64{"DatabaseConnections": 60, "CPUUtilization": 20}},
			{Identifier: "db-standby", Role: "standby", Zone: "us-east-1b", Class: "db.t3.micro", MaxConnections: 112, Metrics: map[string]float64{"ReplicaLag": 2}},
		}},
		{AWS: 120, Instances: []DBInstance{
			{Identifier: "db", Role: "primary", Zone: "us-east-1a", Class: "db.t3.micro", MaxConnections: 112, Metrics: map[string]float64{"DatabaseConnections": 111, "CPUUtilization": 9, "WriteIOPS": 4}},
			{Identifier: "db-standby", Role: "standby", Zone: "us-east-1b", Class: "db.t3.micro", MaxConnections: 112}, // did not answer
		}},
	}
	p := Peaks(samples)
	if len(p) != 2 || p[0].Connections != 111 || p[0].CPU != 20 || p[0].WriteIOPS != 4 || !p[0].AtMax() || p[1].ReplicaLag != 2 || p[1].AtMax() {
		t.Fatalf("peaks %+v", p)
	}
	var b bytes.Buffer
	(&Summary{Database: p}).WriteText(&b)
	out := b.String()
	for _, want := range []string{"\nDatabase (AWS/RDS, the busiest minute of each)\n",
		"  db primary in us-east-1a (db.t3.micro): DatabaseConnections 111 of max_connections 112 (AT THE MAXIMUM: new connections refused), CPUUtilization 20%",
		"  db-standby standby in us-east-1b (db.t3.micro): DatabaseConnections 0 of max_connections 112, CPUUtilization 0%, WriteIOPS 0.0, ReadIOPS 0.0, ReplicaLag 2.0 s"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	(&Summary{}).WriteText(&b)
	if strings.Contains(b.String(), "Database") {
		t.Error("a run without a database has database lines")
	}
}

// A read replica's promotion has its own line: it is not a failover and
// has no error window.
func TestPromotionIsNotAFailover(t *testing.T) {
	var b bytes.Buffer
	s := &Summary{DBPromotions: 1, WritesCheckedOn: "db-replica-1 (standalone)"}
	s.WriteText(&b)
	out := b.String()
	if strings.Contains(out, "failover(s)") || strings.Contains(out, "error window") ||
		!strings.Contains(out, "database: 1 read replica promotion(s) to a standalone DB instance (not a failover: the source keeps its endpoint)") {
		t.Fatalf("a promotion in the summary:\n%s", out)
	}
	b.Reset()
	s.DBFailovers, s.DBErrorWindowSeconds = 1, 42
	s.WriteText(&b)
	if !strings.Contains(b.String(), "database: 1 failover(s); error window 42 s (AWS time)") {
		t.Fatalf("a failover and a promotion:\n%s", b.String())
	}
}
