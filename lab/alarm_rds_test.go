package lab

import (
	"testing"

	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/stack"
)

// A policy's alarm on AWS/RDS watches its DB instance by
// DBInstanceIdentifier: the one it names, else the primary.
func TestPolicyAlarmOnRDS(t *testing.T) {
	s, err := stack.Builtin("read-replicas")
	if err != nil {
		t.Fatal(err)
	}
	p := stack.ScalingPolicy{Name: "db-busy", Alarm: &stack.Alarm{Namespace: stack.NamespaceRDS, MetricName: "CPUUtilization"}}
	if got := policyAlarm(s, p).Dimensions; len(got) != 1 || got[DimDBInstanceIdentifier] != "read-replicas-db" {
		t.Errorf("dimensions %v, want the primary's DBInstanceIdentifier", got)
	}
	p.Alarm.Dimensions = map[string]string{stack.DimDBInstanceIdentifier: "read-replicas-db-replica-1"}
	if got := policyAlarm(s, p).Dimensions; got[DimDBInstanceIdentifier] != "read-replicas-db-replica-1" {
		t.Errorf("dimensions %v, want the replica", got)
	}
	if stack.NamespaceRDS != cloudwatch.NamespaceRDS || stack.DimDBInstanceIdentifier != DimDBInstanceIdentifier {
		t.Error("the stack's AWS/RDS names differ from CloudWatch's")
	}
}
