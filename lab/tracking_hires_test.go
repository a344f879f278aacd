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

// High resolution needs a custom metric
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/publishingMetrics.html#high-resolution-metrics):
// a 10 s alarm on what an agent puts (here straight into the run's store, as
// PutMetricData would) acts once three 10 s datapoints breach and are
// published, the custom metrics' delay (30 s by default) after each.
func TestHighResolutionAlarmOnACustomMetric(t *testing.T) {
	s := trackingStack(t, `  - name: agent-cpu
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: 2}]
    alarm: {metric_name: cpu_usage_active, namespace: CWAgent, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 50, period: 10s, evaluation_periods: 3}
`)
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	c := clock.NewFake(t0.Add(-2 * time.Minute))
	store := newMetricStore(s)
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
	g.Reconcile(context.Background())
	var scaled time.Time
	for i := -12; i <= 12; i++ { // 10 % for two minutes, then 90 % from 03:00:00
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		c.Advance(now.Sub(c.Now()))
		v := 90.0
		if i < 0 {
			v = 10
		}
		store.Put(cloudwatch.Datum{Namespace: "CWAgent", MetricName: "cpu_usage_active",
			Dimensions: cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, s.Name), Time: now, Value: v})
		l.CloudWatch.EvaluateAll(now)
		if scaled.IsZero() && g.Desired() == 4 {
			scaled = now
		}
	}
	// Datapoints 03:00:00, :10 and :20 breach; :20's is visible at :50.
	if want := t0.Add(50 * time.Second); !scaled.Equal(want) {
		t.Fatalf("desired 4 at %v, want %v (three 10 s datapoints, then the 30 s custom-metric delay)", scaled.Format("15:04:05"), want.Format("15:04:05"))
	}
}
