package tui

import (
	"strings"
	"testing"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/stack"
)

// The data tier's line: who is where, with the latest AWS/RDS minute; a
// primary at its max_connections shows it; the view keeps its height.
func TestDatabaseLine(t *testing.T) {
	s := fixture()
	if v := step(newModel(160, 48), s).View(); strings.Contains(v, "RDS ") {
		t.Fatalf("a run without a database shows a data tier line:\n%s", v)
	}
	s.Database = []DBInstance{
		{Identifier: "web-db-standby", Role: "primary", Zone: "us-east-1b", Class: "db.t3.micro", MaxConnections: 112,
			CPU: 97, HasCPU: true, Connections: 112, HasConnections: true, WriteIOPS: 12, ReadIOPS: 3, HasIOPS: true},
		{Identifier: "web-db", Role: "standby", Zone: "us-east-1a", Class: "db.t3.micro", MaxConnections: 112, ReplicaLag: 0, HasLag: true, HasConnections: true},
		{Identifier: "web-db-replica-1", Role: "read-replica", Zone: "us-east-1c", MaxConnections: 112, CPU: 31, HasCPU: true,
			Connections: 20, HasConnections: true, ReplicaLag: 45, HasLag: true},
	}
	v := step(newModel(160, 48), s).View()
	var line string
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(l, "RDS  ") {
			line = l
		}
	}
	want := "RDS  web-db-standby primary 1b CPU 97% conn 112/112 IOPS w12 r3 · web-db standby 1a lag 0s · web-db-replica-1 read-replica 1c CPU 31% conn 20/112 lag 45s"
	if strings.TrimRight(line, " ") != want {
		t.Errorf("data tier line:\n got  %q\n want %q", strings.TrimRight(line, " "), want)
	}
	if n := len(strings.Split(v, "\n")); n != 48 {
		t.Errorf("the view is %d lines, want the terminal's 48", n)
	}
	// narrow: no IOPS, still one line within the width
	v = step(newModel(80, 30), s).View()
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(l, "RDS  ") && (strings.Contains(l, "IOPS") || len([]rune(l)) > 80) {
			t.Errorf("narrow data tier line %q", l)
		}
	}
}

// An alarm on a DB instance's CPU says so and draws no line on the
// instances' CPU bars.
func TestRDSAlarmInTheView(t *testing.T) {
	var s Snapshot
	fromObservation(&s, lab.Observation{Alarms: []lab.AlarmState{
		{Name: "web-hot", State: "OK", Namespace: "AWS/EC2", Metric: "CPUUtilization", Comparison: "GreaterThanThreshold", Threshold: 80},
		{Name: "db-hot", State: "ALARM", Namespace: "AWS/RDS", Metric: "CPUUtilization", Comparison: "GreaterThanThreshold", Threshold: 90},
	}}, &stack.Stack{Name: "web"}, nil)
	if len(s.Alarms) != 2 || s.Alarms[1].Metric != "RDS CPUUtilization" || len(s.CPUThresholds) != 1 || s.CPUThresholds[0] != 80 {
		t.Errorf("alarms %+v, CPU thresholds %v", s.Alarms, s.CPUThresholds)
	}
}
