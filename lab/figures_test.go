package lab

import (
	"testing"

	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/stack"
)

// Every figure a run relies on that AWS does not document is listed, with
// its kind: the publication delays (observed or assumed, or the stack's
// setting), the target tracking alarm shapes when a policy tracks a
// target, and ATW's thresholds.
func TestAssumptionsNameWhatAWSDoesNotDocument(t *testing.T) {
	s, err := stack.Builtin("simplydone")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]figures.Figure{}
	for _, f := range assumptions(s) {
		got[f.Name] = f
	}
	if f := got["CloudWatch publication delay, AWS/EC2"]; f.Value != "2m0s" || f.Kind != figures.Observed || f.Source == "" {
		t.Errorf("EC2 delay: %+v", f)
	}
	if f := got["CloudWatch publication delay, AWS/ApplicationELB"]; f.Kind != figures.Assumed {
		t.Errorf("ALB delay: %+v", f)
	}
	if f := got["EC2 pending → running"]; f.Value != "16s" || f.Kind != figures.Observed {
		t.Errorf("pending time: %+v", f)
	}
	if _, ok := got["Anomaly detection window"]; !ok {
		t.Error("ATW's thresholds are not listed")
	}
	if f := got["Load balancer node client connections"]; f.Kind != figures.Assumed || f.Value == "" {
		t.Errorf("the nodes' connection cap is not listed: %+v", f)
	}
	if _, ok := got["Target tracking AlarmLow"]; ok {
		t.Error("a stack without target tracking lists its alarm shapes")
	}

	s = trackingStack(t, `  - name: cpu50
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50}
cloudwatch: {publication_delay: {AWS/EC2: 3m}}
`)
	got = map[string]figures.Figure{}
	for _, f := range assumptions(s) {
		got[f.Name] = f
	}
	if f := got["CloudWatch publication delay, AWS/EC2"]; f.Value != "3m0s" || f.Kind != figures.Setting {
		t.Errorf("EC2 delay set by the stack: %+v", f)
	}
	if f := got["Target tracking AlarmLow"]; f.Kind != figures.Observed || f.Value != "metric < 0.7 × target for 15 of 15 one-minute datapoints" {
		t.Errorf("AlarmLow: %+v", f)
	}
}
