package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
)

// fakeTier is three AWS minutes of a Multi-AZ pair with a read replica,
// whose primary fails over to us-east-1b in the third.
func fakeTier() []rundir.DBSample {
	in := func(id, role, zone string, m map[string]float64) rundir.DBInstance {
		return rundir.DBInstance{Identifier: id, Role: role, Zone: zone, Class: "db.t3.micro", Engine: "postgres 15.14", MaxConnections: 112, Metrics: m}
	}
	return []rundir.DBSample{
		{AWS: 60, Instances: []rundir.DBInstance{
			in("web-db", "primary", "us-east-1a", map[string]float64{"CPUUtilization": 40, "DatabaseConnections": 20, "WriteIOPS": 3, "ReadIOPS": 1, "FreeStorageSpace": 21e9}),
			in("web-db-standby", "standby", "us-east-1b", map[string]float64{"CPUUtilization": 5, "ReplicaLag": 0}),
			in("web-db-replica-1", "read-replica", "us-east-1c", map[string]float64{"CPUUtilization": 30, "DatabaseConnections": 20, "ReplicaLag": 2}),
		}},
		{AWS: 120, Instances: []rundir.DBInstance{
			in("web-db", "primary", "us-east-1a", map[string]float64{"CPUUtilization": 80, "DatabaseConnections": 112, "WriteIOPS": 5, "ReadIOPS": 3, "FreeStorageSpace": 20e9}),
			in("web-db-standby", "standby", "us-east-1b", map[string]float64{"CPUUtilization": 7, "ReplicaLag": 0}),
			in("web-db-replica-1", "read-replica", "us-east-1c", map[string]float64{"CPUUtilization": 50, "DatabaseConnections": 20, "ReplicaLag": 4}),
		}},
		{AWS: 180, Instances: []rundir.DBInstance{
			in("web-db", "standby", "us-east-1a", nil), // the old primary, fenced: it published nothing
			in("web-db-standby", "primary", "us-east-1b", map[string]float64{"CPUUtilization": 60, "DatabaseConnections": 30}),
			in("web-db-replica-1", "read-replica", "us-east-1c", map[string]float64{"CPUUtilization": 20, "DatabaseConnections": 20, "ReplicaLag": 1}),
		}},
	}
}

// The data tier's section: who is where at the start and after the
// failover, each instance's metrics as mean / max, charts per metric with
// max_connections, and RDS events in the timeline and as markers.
func TestDatabaseSection(t *testing.T) {
	r := readFixture(t)
	if rep := Build(r); rep.Database != nil {
		t.Fatalf("a run without database.jsonl has a data tier section: %+v", rep.Database)
	}
	r.Database = fakeTier()
	r.Summary.DBFailovers, r.Summary.DBErrorWindowSeconds = 1, 96.04
	r.Summary.DBPromotions = 1
	r.Summary.DBFailoverOverruns = []rundir.DBFailoverOverrun{{DB: "web-db", At: 104.2, Documented: 90}}
	t0 := r.Events[0].Time
	r.Events = append(r.Events, events.Envelope{Time: t0.Add(150 * time.Second), Kind: DatabaseKind, Type: "Event",
		Event: events.Unknown{Type: "Event", Of: DatabaseKind, Text: "DB instance web-db: Multi-AZ instance failover started."}})
	rep := Build(r)
	d := rep.Database
	if d == nil || len(d.Start) != 3 || len(d.End) != 3 {
		t.Fatalf("section %+v: want 3 instances at the start and 3 at the end", d)
	}
	p := d.Start[0]
	if p.Identifier != "web-db" || p.Role != "primary" || p.Zone != "us-east-1a" || p.Class != "db.t3.micro" || p.Engine != "postgres 15.14" ||
		p.CPU != "60 / 80%" || p.Connections != "66 / 112" || p.WriteIOPS != "4 / 5" || p.FreeGiB != "18.6" || p.ReplicaLag != "—" {
		t.Errorf("primary row %+v", p)
	}
	if e := d.End[1]; e.Identifier != "web-db-standby" || e.Role != "primary" || e.Zone != "us-east-1b" {
		t.Errorf("after the failover, row %+v: want web-db-standby primary in us-east-1b", e)
	}
	ids := map[string]Chart{}
	for _, c := range rep.Charts {
		ids[c.ID] = c
	}
	conns, ok := ids["db-connections"]
	if !ok || len(conns.HLines) != 1 || conns.HLines[0].Y != 112 || len(conns.Series) != 3 {
		t.Errorf("connections chart %+v: want a line per instance that published and max_connections 112", conns)
	}
	if c := ids["db-iops"]; len(c.Series) != 2 || c.Series[0].Name != "WriteIOPS web-db (standby, us-east-1a)" || !c.Series[1].Dash {
		t.Errorf("IOPS chart series %+v", c.Series)
	}
	if c := ids["db-lag"]; len(c.Series) != 2 {
		t.Errorf("lag chart has %d series, want the standby's and the replica's", len(c.Series))
	}
	found := false
	for _, row := range rep.Timeline {
		if row.Kind == MarkDatabase && strings.Contains(row.Text, "failover started") && row.At == "+02:30" {
			found = true
		}
	}
	if !found {
		t.Errorf("the RDS event is not in the timeline: %+v", rep.Timeline)
	}
	var html bytes.Buffer
	if err := Render(&html, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="database"`, "<code>web-db-replica-1</code>", "a failover moved a role", `id="chart-db-connections"`,
		"Database: 1 failover(s), error window 96 s", "at least half of the requests failed",
		"Database: 1 read replica promotion(s) to a standalone DB instance (not a failover: the source keeps its endpoint).",
		"<strong>Warning:</strong> the failover of web-db moved its endpoint at 104.2 s (AWS time), past RDS&#39;s documented 90 s"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// database.jsonl is read back from the run directory, and `lab compare`
// has the tier's rows.
func TestDatabaseReadAndCompare(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{SummaryFile, SecondsFile, EventsFile, StackFile, ScenarioFile} {
		b, err := os.ReadFile(filepath.Join(fixture, f))
		if err == nil {
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
	}
	var lines bytes.Buffer
	for _, s := range fakeTier() {
		lines.Write(marshalLine(t, s))
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.DatabaseFile), lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadRun(dir)
	if err != nil || len(b.Database) != 3 {
		t.Fatalf("read %d samples, %v", len(b.Database), err)
	}
	c := Compare(readFixture(t), b)
	got := map[string]CompareRow{}
	for _, r := range c.Rows {
		if r.Section == "database" {
			got[r.Metric] = r
		}
	}
	if r := got["primary DatabaseConnections, max"]; r.A != "0" || r.B != "112" {
		t.Errorf("connections row %+v", r)
	}
	if r := got["primary CPUUtilization, mean"]; r.B != "60%" {
		t.Errorf("primary CPU mean row %+v: want 60%% (40, 80, 60: whoever was primary)", r)
	}
	if r := got["read replicas' CPUUtilization, max"]; r.B != "50%" {
		t.Errorf("replica CPU row %+v", r)
	}
}

func marshalLine(t *testing.T, v any) []byte {
	b := marshal(t, v)
	return append(bytes.ReplaceAll(bytes.TrimSpace(b), []byte("\n"), nil), '\n')
}

// An alarm on a DB instance's CPUUtilization is not drawn on the group's
// CPU chart.
func TestRDSAlarmNotOnTheGroupsCPU(t *testing.T) {
	r := readFixture(t)
	r.StackYAML = "availability_zones: [us-east-1a]\nscaling_policies:\n" +
		"  - {name: web-hot, alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, comparison_operator: GreaterThanThreshold, threshold: 80}}\n" +
		"  - {name: db-hot, alarm: {metric_name: CPUUtilization, namespace: AWS/RDS, comparison_operator: GreaterThanThreshold, threshold: 90}}\n"
	a := analyse(r)
	if len(a.alarms) != 1 || a.alarms[0].policy != "web-hot" {
		t.Errorf("alarm lines %+v, want web-hot's only", a.alarms)
	}
}
