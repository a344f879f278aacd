package stack

import (
	"errors"
	"strings"
	"testing"
)

// rdsPolicy is a step policy whose alarm is on alarm (the inside of the
// alarm's mapping).
func rdsPolicy(alarm string) string {
	return "scaling_policies:\n  - name: db-busy\n    policy_type: StepScaling\n    adjustment_type: ChangeInCapacity\n" +
		"    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: -1}]\n" +
		"    alarm: {" + alarm + "}\n"
}

const rdsDB = "database: {engine: postgres, db_instance_class: db.t3.micro, multi_az: true, read_replicas: [{identifier: reads}]}\n"

// An AWS/RDS alarm names a DB instance of the stack, or watches the
// primary by default.
func TestAlarmOnRDS(t *testing.T) {
	common := "namespace: AWS/RDS, statistic: Maximum, comparison_operator: GreaterThanThreshold, threshold: 100, period: 60s, evaluation_periods: 1"
	s, err := Parse("s.yaml", []byte(head+group+rdsDB+rdsPolicy("metric_name: DatabaseConnections, "+common)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.AlarmDBInstance(*s.ScalingPolicies[0].Alarm); got != "web-db" {
		t.Errorf("default DB instance = %q, want the primary web-db", got)
	}
	s, err = Parse("s.yaml", []byte(head+group+rdsDB+rdsPolicy("metric_name: ReplicaLag, dimensions: {DBInstanceIdentifier: reads}, "+common)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.AlarmDBInstance(*s.ScalingPolicies[0].Alarm); got != "reads" {
		t.Errorf("DB instance = %q, want reads", got)
	}
}

func TestAlarmOnRDSErrors(t *testing.T) {
	common := "statistic: Maximum, comparison_operator: GreaterThanThreshold, threshold: 100, period: 60s, evaluation_periods: 1"
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"no database", head + group + rdsPolicy("metric_name: DatabaseConnections, namespace: AWS/RDS, "+common),
			[]string{`scaling_policies[0].alarm.namespace: AWS/RDS needs the stack's database section`}},
		{"metric", head + group + rdsDB + rdsPolicy("metric_name: DatabaseConnection, namespace: AWS/RDS, "+common),
			[]string{`scaling_policies[0].alarm.metric_name: "DatabaseConnection"`, `did you mean DatabaseConnections?`}},
		{"unknown instance", head + group + rdsDB + rdsPolicy("metric_name: ReadIOPS, namespace: AWS/RDS, dimensions: {DBInstanceIdentifier: nope}, "+common),
			[]string{`scaling_policies[0].alarm.dimensions.DBInstanceIdentifier: "nope" is not one of the stack's DB instances; use one of web-db, reads`}},
		{"other dimension", head + group + rdsDB + rdsPolicy("metric_name: ReadIOPS, namespace: AWS/RDS, dimensions: {DBClusterIdentifier: web-db}, "+common),
			[]string{`scaling_policies[0].alarm.dimensions.DBClusterIdentifier: not a dimension the lab publishes AWS/RDS metrics with; use DBInstanceIdentifier`}},
		{"dimensions on EC2", head + group + rdsPolicy("metric_name: CPUUtilization, namespace: AWS/EC2, dimensions: {AutoScalingGroupName: x}, "+common),
			[]string{`scaling_policies[0].alarm.dimensions: not allowed for AWS/EC2`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want *Errors, got %v", err)
			}
			if len(errs.List) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs.List), err)
			}
			for _, w := range c.want {
				if got := errs.List[0].Error(); !strings.Contains(got, w) {
					t.Errorf("error:\n got  %s\n want it to contain %s", got, w)
				}
			}
		})
	}
}
