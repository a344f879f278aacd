package lab

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// High-resolution target tracking (aws-behaviour.md 2.6): with a 10 s
// period the policy's alarms use 10 s datapoints, so three datapoints above
// target take 30 s, not three minutes.
func TestHighResolutionTargetTracking(t *testing.T) {
	s := trackingStack(t, `  - name: cpu50
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50, period: 10s}
`)
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	c := clock.NewFake(t0)
	store := cloudwatch.NewStore()
	l := &Lab{opts: Options{Stack: s}, CloudWatch: cloudwatch.NewService(store, c, nil)}
	zero := time.Duration(0)
	g, err := asg.New(asg.Config{Name: s.Name, Zones: s.Zones, Min: 1, Max: 8, Desired: 2, HealthCheckType: "EC2",
		DefaultCooldown: 300 * time.Second, DefaultInstanceWarmup: &zero, Policies: policies(s),
		Clock: c, Fleet: &stubFleet{}, Targets: stubTargets{}, Events: &eventLog{}, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	l.Group = g
	if err := l.addAlarms(); err != nil {
		t.Fatal(err)
	}
	for _, a := range l.CloudWatch.Alarms() {
		if c := a.Config(); c.Period != 10*time.Second {
			t.Fatalf("alarm %s period %v, want 10s", c.Name, c.Period)
		}
	}
	g.Reconcile(context.Background())
	sink := cpuSink{store: store, group: s.Name}
	for i := range 3 {
		sink.PutCPU(t0.Add(time.Duration(i)*10*time.Second), "i-01", 90, true)
	}
	c.Advance(30 * time.Second)
	l.CloudWatch.EvaluateAll(c.Now())
	if d := g.Desired(); d != 4 {
		t.Fatalf("desired %d after 30 s of CPU 90 vs 50 at a 10 s period, want 4", d)
	}
}
