package promexport

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simplydone/lab/rundir"
)

type fakeDB struct {
	s  rundir.DBSample
	ok bool
}

func (f fakeDB) DatabaseNow() (rundir.DBSample, bool) { return f.s, f.ok }

// The data tier's AWS/RDS metrics are gauges under CloudWatch's names, by
// DBInstanceIdentifier, zone and role; before the first minute there are none.
func TestDBCollector(t *testing.T) {
	src := fakeDB{ok: true, s: rundir.DBSample{AWS: 120, Instances: []rundir.DBInstance{
		{Identifier: "web-db", Role: "primary", Zone: "us-east-1a", Metrics: map[string]float64{
			"CPUUtilization": 41.5, "DatabaseConnections": 20, "ReadIOPS": 3.5, "WriteIOPS": 12, "FreeStorageSpace": 2e10}},
		{Identifier: "web-db-standby", Role: "standby", Zone: "us-east-1b", Metrics: map[string]float64{"ReplicaLag": 0, "DatabaseConnections": 0}},
		{Identifier: "web-db-replica-1", Role: "read-replica", Zone: "us-east-1c"}, // did not answer: no datapoints
	}}}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewDBCollector(src)); err != nil {
		t.Fatal(err)
	}
	got := gather(t, reg)
	want := map[string]float64{
		"CPUUtilization web-db us-east-1a primary":              41.5,
		"DatabaseConnections web-db us-east-1a primary":         20,
		"ReadIOPS web-db us-east-1a primary":                    3.5,
		"WriteIOPS web-db us-east-1a primary":                   12,
		"FreeStorageSpace web-db us-east-1a primary":            2e10,
		"DatabaseConnections web-db-standby us-east-1b standby": 0,
		"ReplicaLag web-db-standby us-east-1b standby":          0,
	}
	if len(got) != len(want) {
		t.Errorf("got %d series, want %d (none of the silent replica):\n%v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}

	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(NewDBCollector(fakeDB{}))
	if got := gather(t, reg); len(got) != 0 {
		t.Errorf("before the first minute: %v", got)
	}
}

// gather scrapes reg into "name identifier zone role" -> gauge value,
// checking that every series is a gauge.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if m.GetGauge() == nil {
				t.Fatalf("%s is not a gauge", f.GetName())
			}
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[strings.Join([]string{f.GetName(), l["DBInstanceIdentifier"], l["AvailabilityZone"], l["role"]}, " ")] = m.GetGauge().GetValue()
		}
	}
	return out
}
