package asg

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestTrackingAlarms checks the alarms AWS builds for target tracking
// policies (aws-behaviour.md 2.6): AlarmHigh metric > target for 3 of 3,
// AlarmLow metric < 0.7 × target for 15 of 15 unless scale-in is disabled,
// on the predefined metric's CloudWatch metric, each running its policy.
func TestTrackingAlarms(t *testing.T) {
	type want struct {
		name, ns, metric, stat, op, dim, value string
		threshold                              float64
		n                                      int
		side                                   Side
	}
	cases := []struct {
		p    Policy
		want []want
	}{
		{Policy{Name: "cpu50", Type: TargetTrackingScaling, MetricType: ASGAverageCPUUtilization, TargetValue: 50, Period: time.Minute}, []want{
			{"TargetTracking-tt-AlarmHigh-cpu50", "AWS/EC2", "CPUUtilization", "Average", "GreaterThanThreshold", "AutoScalingGroupName", "tt", 50, 3, AlarmHigh},
			{"TargetTracking-tt-AlarmLow-cpu50", "AWS/EC2", "CPUUtilization", "Average", "LessThanThreshold", "AutoScalingGroupName", "tt", 35, 15, AlarmLow},
		}},
		{Policy{Name: "req", Type: TargetTrackingScaling, MetricType: ALBRequestCountPerTarget, TargetValue: 500, DisableScaleIn: true}, []want{
			{"TargetTracking-tt-AlarmHigh-req", "AWS/ApplicationELB", "RequestCountPerTarget", "Sum", "GreaterThanThreshold", "LoadBalancer", "tt-lb", 500, 3, AlarmHigh},
		}},
		{Policy{Name: "cpu30", Type: TargetTrackingScaling, MetricType: ASGAverageCPUUtilization, TargetValue: 30}, []want{
			{"TargetTracking-tt-AlarmHigh-cpu30", "AWS/EC2", "CPUUtilization", "Average", "GreaterThanThreshold", "AutoScalingGroupName", "tt", 30, 3, AlarmHigh},
			{"TargetTracking-tt-AlarmLow-cpu30", "AWS/EC2", "CPUUtilization", "Average", "LessThanThreshold", "AutoScalingGroupName", "tt", 21, 15, AlarmLow}, // not 20.999999999999996
		}},
	}
	for _, c := range cases {
		got, err := TrackingAlarms("tt", "tt-lb", c.p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d alarms %+v, want %d", c.p.Name, len(got), got, len(c.want))
		}
		for i, w := range c.want {
			a := got[i]
			if a.Name != w.name || a.Namespace != w.ns || a.MetricName != w.metric || a.Statistic != w.stat || a.ComparisonOperator != w.op ||
				a.Threshold != w.threshold || a.Period != time.Minute || a.EvaluationPeriods != w.n || a.DatapointsToAlarm != w.n ||
				len(a.Dimensions) != 1 || a.Dimensions[w.dim] != w.value || a.Action != (AlarmAction{Policy: c.p.Name, Side: w.side}) {
				t.Errorf("%s: %+v", w.name, a)
			}
		}
	}
}

// High-resolution target tracking (aws-behaviour.md 2.6): with a 10 s
// period the policy's alarms use 10 s datapoints.
func TestHighResolutionTrackingAlarms(t *testing.T) {
	got, err := TrackingAlarms("tt", "tt", Policy{Name: "cpu50", Type: TargetTrackingScaling, MetricType: ASGAverageCPUUtilization, TargetValue: 50, Period: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a.Period != 10*time.Second {
			t.Fatalf("alarm %s period %v, want 10s", a.Name, a.Period)
		}
	}
}

func TestTrackingAlarmsRefuseNetworkMetrics(t *testing.T) {
	for _, m := range []string{ASGAverageNetworkIn, ASGAverageNetworkOut, "CPU"} {
		_, err := TrackingAlarms("tt", "tt", Policy{Name: "net", Type: TargetTrackingScaling, MetricType: m, TargetValue: 1e6})
		if err == nil || !strings.Contains(err.Error(), "net") || !strings.Contains(err.Error(), m) {
			t.Errorf("%s: error %v, want one naming the policy and the metric", m, err)
		}
	}
}

// TestOnAlarm: an alarm's action runs its policy the way its type says: a
// target tracking policy proposes in ALARM and withdraws otherwise, a step
// policy runs only in ALARM.
func TestOnAlarm(t *testing.T) {
	ctx := context.Background()
	zero := time.Duration(0)
	r := newRig(t, func(c *Config) {
		c.DefaultInstanceWarmup = &zero
		c.Policies = append(c.Policies, Policy{Name: "cpu50", Type: TargetTrackingScaling, MetricType: ASGAverageCPUUtilization, TargetValue: 50})
	})
	r.g.Reconcile(ctx)
	if d, ok := r.g.OnAlarm(AlarmAction{Policy: "cpu-high"}, "cpu-high", false, 90); ok || d != 2 {
		t.Fatalf("step policy out of ALARM: desired %d, changed %v", d, ok)
	}
	if d, ok := r.g.OnAlarm(AlarmAction{Policy: "cpu50", Side: AlarmHigh}, "TargetTracking-simplydone-AlarmHigh-cpu50", true, 75); !ok || d != 3 {
		t.Fatalf("target tracking AlarmHigh at 75 vs 50: desired %d, changed %v; want 3", d, ok)
	}
	r.g.OnAlarm(AlarmAction{Policy: "cpu50", Side: AlarmHigh}, "TargetTracking-simplydone-AlarmHigh-cpu50", false, 0)
	r.g.mu.Lock()
	_, voting := r.g.votes["cpu50"]
	r.g.mu.Unlock()
	if voting {
		t.Fatal("the policy kept its proposal after its alarm left ALARM")
	}
	r.g.Reconcile(ctx)
	if d, ok := r.g.OnAlarm(AlarmAction{Policy: "cpu-high"}, "cpu-high", true, 90); !ok || d != 4 {
		t.Fatalf("step policy in ALARM: desired %d, changed %v; want 4", d, ok)
	}
}
