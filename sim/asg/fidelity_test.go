package asg

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// TestFidelity checks, one row per documented EC2 Auto Scaling behaviour,
// that the group does what AWS documents, on a fake clock. Each row cites
// the section of ../shared/reference/aws-behaviour.md (and through it the
// AWS page) it checks.
func TestFidelity(t *testing.T) {
	ctx := context.Background()
	rows := []struct {
		behaviour string
		cite      string
		check     func(t *testing.T)
	}{
		{
			"ELB-unhealthy instances are replaced terminate-then-launch, at most 10% of desired at a time",
			"2.4 Limiting the damage: replaces at most 10% of desired at a time; 2.9 health-check failure: terminate and launch",
			func(t *testing.T) {
				r := newRig(t, func(c *Config) { c.Desired, c.Max, c.Policies = 20, 20, nil })
				r.g.Reconcile(ctx)
				for _, in := range r.g.Instances() {
					r.tg.set(in.ID, "unhealthy")
				}
				r.clock.Advance(time.Hour)
				r.tg.mu.Lock()
				r.tg.initial = "initial" // replacements wait for their first health check
				r.tg.mu.Unlock()
				r.g.Reconcile(ctx)
				r.settle(t)
				if got := r.ev.activities("Terminate"); got != 2 {
					t.Fatalf("%d terminated at once, want 2 (10%% of 20)", got)
				}
				acts := r.ev.actions()
				if acts[20] != "Terminate" || acts[len(acts)-1] != "Launch" {
					t.Fatalf("activities %v: want terminations first, then launches", acts[20:])
				}
				r.g.Reconcile(ctx) // replacements still initial: nothing more
				if got := r.ev.activities("Terminate"); got != 2 {
					t.Fatalf("%d terminated before the replacements passed a health check", got)
				}
			},
		},
		{
			"A killed instance is replaced at once, even inside the health check grace period",
			"2.4 EC2 check: any state other than running is marked Unhealthy immediately and replaced, even inside the grace period",
			func(t *testing.T) {
				r := newRig(t, func(c *Config) { c.HealthCheckGracePeriod = 300 * time.Second })
				r.g.Reconcile(ctx)
				victim := r.g.Instances()[0].ID
				r.fleet.kill(victim)
				r.clock.Advance(10 * time.Second)
				r.g.Reconcile(ctx)
				r.settle(t)
				if r.ev.activities("Terminate") != 1 || r.ev.activities("Launch") != 3 || len(r.g.Instances()) != 2 {
					t.Fatalf("terminations %d launches %d instances %d", r.ev.activities("Terminate"), r.ev.activities("Launch"), len(r.g.Instances()))
				}
			},
		},
		{
			"Warming instances stay out of the aggregated metric, count toward the next scale-out, and block scale-in",
			"2.6 Warm-up: warming instances are left out of the metric; they count toward desired capacity; all scale-in by policies is blocked until warm-up ends",
			func(t *testing.T) {
				sink := &recordingSink{}
				r := newRig(t, func(c *Config) {
					c.Policies = []Policy{{Name: "cpu50", Type: TargetTrackingScaling, TargetValue: 50}}
					c.CPU = sink
				})
				r.g.Reconcile(ctx)
				r.clock.Advance(2 * time.Minute) // the first two are warm (60 s)
				if d, ok := r.g.TrackTarget("cpu50", "AlarmHigh", AlarmHigh, true, 75); !ok || d != 3 {
					t.Fatalf("scale-out to %d (%v), want ceil(2×75/50) = 3", d, ok)
				}
				r.g.Reconcile(ctx)
				r.g.sampleCPU(ctx)
				if in, out := sink.counts(); in != 2 || out != 1 {
					t.Fatalf("%d samples in the group average, %d out; want the warming instance out", in, out)
				}
				if d, ok := r.g.TrackTarget("cpu50", "AlarmHigh", AlarmHigh, true, 75); ok {
					t.Fatalf("the same breach scaled again to %d while the new instance warms up", d)
				}
				if _, ok := r.g.TrackTarget("cpu50", "AlarmLow", AlarmLow, true, 10); ok {
					t.Fatal("scale-in while an instance warms up")
				}
				r.clock.Advance(time.Minute)
				if d, ok := r.g.TrackTarget("cpu50", "AlarmLow", AlarmLow, true, 10); !ok || d != 1 {
					t.Fatalf("after warm-up scale-in to %d (%v), want 1", d, ok)
				}
			},
		},
		{
			"Only simple scaling waits for a cooldown; step scaling acts on every breach",
			"2.6 Simple scaling waits for the activity and the cooldown; step scaling: there is no cooldown",
			func(t *testing.T) {
				zero := time.Duration(0)
				r := newRig(t, func(c *Config) { c.DefaultInstanceWarmup = &zero; c.Max = 10 })
				r.g.Reconcile(ctx)
				if _, ok := r.g.ExecutePolicy("cpu-high", "AlarmHigh", 90); !ok {
					t.Fatal("step scaling did not act")
				}
				r.g.Reconcile(ctx)
				if _, ok := r.g.ExecutePolicy("cpu-high", "AlarmHigh", 90); !ok {
					t.Fatal("step scaling waited (there is no cooldown)")
				}
				r.g.Reconcile(ctx)
				if _, ok := r.g.ExecutePolicy("simple-out", "AlarmHigh", 90); !ok {
					t.Fatal("simple scaling did not act")
				}
				if _, ok := r.g.ExecutePolicy("simple-out", "AlarmHigh", 90); ok {
					t.Fatal("simple scaling acted inside its cooldown")
				}
			},
		},
		{
			"Missing data means no scaling: an alarm out of ALARM withdraws its policy's proposal",
			"2.6 If the metric has missing datapoints, the alarm goes to INSUFFICIENT_DATA and the ASG cannot scale",
			func(t *testing.T) {
				zero := time.Duration(0)
				r := newRig(t, func(c *Config) {
					c.DefaultInstanceWarmup = &zero
					c.Policies = []Policy{{Name: "a", Type: TargetTrackingScaling, TargetValue: 50}, {Name: "b", Type: TargetTrackingScaling, TargetValue: 50}}
				})
				r.g.Reconcile(ctx)
				r.g.TrackTarget("a", "AlarmLow-a", AlarmLow, true, 10)
				r.g.TrackTarget("b", "AlarmLow-b", AlarmLow, false, 0) // INSUFFICIENT_DATA
				if d := r.g.Desired(); d != 2 {
					t.Fatalf("scaled in to %d with one policy's metric missing", d)
				}
			},
		},
		{
			"Several policies: out if any says out, in only if all say in, the largest capacity wins",
			"2.6 Several target-tracking policies ... the ASG picks the policy that gives the largest capacity",
			func(t *testing.T) {
				zero := time.Duration(0)
				r := newRig(t, func(c *Config) {
					c.DefaultInstanceWarmup, c.Max = &zero, 10
					c.Policies = []Policy{{Name: "cpu", Type: TargetTrackingScaling, TargetValue: 50}, {Name: "req", Type: TargetTrackingScaling, TargetValue: 100}}
				})
				r.g.Reconcile(ctx)
				r.g.TrackTarget("req", "AlarmLow-req", AlarmLow, true, 10)
				if d, _ := r.g.TrackTarget("cpu", "AlarmHigh-cpu", AlarmHigh, true, 100); d != 4 {
					t.Fatalf("desired %d, want 4 (cpu says out: ceil(2×100/50))", d)
				}
				r.g.Reconcile(ctx)
				r.g.TrackTarget("cpu", "AlarmHigh-cpu", AlarmHigh, true, 75)  // ceil(4×75/50) = 6 from cpu
				r.g.TrackTarget("req", "AlarmHigh-req", AlarmHigh, true, 125) // ceil(4×125/100) = 5 from req
				if d := r.g.Desired(); d != 6 {
					t.Fatalf("desired %d, want 6 (largest wins)", d)
				}
				r.g.Reconcile(ctx)
				r.g.TrackTarget("cpu", "AlarmHigh-cpu", AlarmHigh, false, 0)
				r.g.TrackTarget("req", "AlarmHigh-req", AlarmHigh, false, 0)
				r.g.TrackTarget("cpu", "AlarmLow-cpu", AlarmLow, true, 10)
				if d := r.g.Desired(); d != 6 {
					t.Fatalf("scaled in to %d on one policy's say", d)
				}
				if d, ok := r.g.TrackTarget("req", "AlarmLow-req", AlarmLow, true, 50); !ok || d != 3 {
					t.Fatalf("desired %d (%v), want 3: both say in, the larger (req: ceil(6×50/100)) wins", d, ok)
				}
			},
		},
		{
			"Default termination policy: balance zones first, then oldest launch template, then closest to the next instance hour",
			"2.3 Default termination policy, step by step",
			func(t *testing.T) {
				t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
				zones := []string{"a", "b"}
				cs := []candidate{
					{ID: "old-template-b", Zone: "b", Launched: t0, Template: 1}, // b has fewer: safe despite the old template
					{ID: "a-v2-early", Zone: "a", Launched: t0.Add(-50 * time.Minute), Template: 2},
					{ID: "a-v1", Zone: "a", Launched: t0.Add(-10 * time.Minute), Template: 1},
					{ID: "a-v1-late", Zone: "a", Launched: t0.Add(-55 * time.Minute), Template: 1},
				}
				got := chooseTermination(cs, zones, []string{"Default"}, t0, rand.New(rand.NewPCG(1, 1)))
				if got.ID != "a-v1-late" {
					t.Fatalf("chose %s, want a-v1-late (zone a, oldest template, 55 min into its hour)", got.ID)
				}
			},
		},
		{
			"AZRebalance launches in the recovered zone before terminating, up to 10% of max (or one) above max",
			"2.2 When an impaired AZ recovers ... launches new instances in the under-filled AZ first, then terminates; 2.1 may exceed max",
			func(t *testing.T) {
				r := newRig(t, func(c *Config) { c.Desired, c.Max, c.Policies = 4, 4, nil; c.Zones = c.Zones[:2] })
				r.g.Reconcile(ctx)
				restore, _ := r.g.ImpairZone("us-east-1a")
				for _, in := range r.g.Instances() {
					if in.Zone == "us-east-1a" {
						r.fleet.kill(in.ID)
					}
				}
				for range 3 {
					r.g.Reconcile(ctx)
					r.settle(t)
				}
				restore()
				before, most := len(r.ev.actions()), 0
				for range 6 {
					r.clock.Advance(10 * time.Second)
					r.g.Reconcile(ctx)
					r.settle(t)
					most = max(most, len(r.g.Instances()))
				}
				acts := r.ev.actions()[before:]
				if len(acts) < 2 || acts[0] != "Launch" || acts[1] != "Terminate" || most != 5 {
					t.Fatalf("activities %v, at most %d instances; want launch first, 5 = max 4 + 1", acts, most)
				}
				if z := r.zones(); z["us-east-1a"] != 2 || z["us-east-1b"] != 2 {
					t.Fatalf("zones %v", z)
				}
			},
		},
		{
			"Target tracking: a sustained spike leads to the scale-out decision after 3 one-minute datapoints above target",
			"2.6 AlarmHigh: metric > target for 3 datapoints within 3 minutes (period 60 s, 3 of 3)",
			func(t *testing.T) {
				took := trackingDecisionTime(t, time.Minute)
				// The spike starts at a minute boundary; its third full minute
				// closes at 180 s and the alarm evaluates on the next minute.
				if took < 180*time.Second || took > 240*time.Second {
					t.Fatalf("decision %s after the spike, want 180-240 s", took)
				}
				t.Logf("spike to scale-out decision: %s (AWS time)", took)
			},
		},
		{
			"High-resolution target tracking: with a 10 s period the decision comes after 3 ten-second datapoints",
			"2.6 High-resolution target tracking (Nov 2024): metric period 10, 30 or 60 s",
			func(t *testing.T) {
				took := trackingDecisionTime(t, 10*time.Second)
				if took < 30*time.Second || took > 40*time.Second {
					t.Fatalf("decision %s after the spike, want 30-40 s", took)
				}
				t.Logf("spike to scale-out decision at a 10 s period: %s (AWS time)", took)
			},
		},
		{
			"Instance refresh keeps MinHealthyPercentage of desired healthy and replaces at least one at a time",
			"2.8 Instance refresh: rolling replacement ... Min 100% means one at a time; 2.9 an instance counts as healthy after its health check and warm-up",
			func(t *testing.T) {
				r := newRefreshRig(t, 10, nil)
				if _, err := r.g.StartInstanceRefresh(2, RefreshPreferences{MinHealthyPercentage: pct(80)}); err != nil {
					t.Fatal(err)
				}
				low := 10
				ref := r.runRefresh(t, func(_, healthy int) { low = min(low, healthy) })
				if ref.Status != RefreshSuccessful || low != 8 {
					t.Fatalf("refresh %s, healthy went down to %d; want 8 (80%% of 10)", ref.Status, low)
				}
			},
		},
		{
			"Scheduled actions change the group's limits at their time and ignore cooldowns",
			"2.6 Scheduled scaling: sets any of min, max and desired at a time; scheduled actions ignore cooldowns",
			func(t *testing.T) {
				r := newRig(t, func(c *Config) {
					c.ScheduledActions = []ScheduledAction{{Name: "sale", At: time.Minute, MinSize: n(4)}}
				})
				r.g.Reconcile(ctx)
				r.g.ExecutePolicy("simple-out", "AlarmHigh", 90) // a cooldown starts: 2 -> 4
				r.g.SetDesired(2)
				r.clock.Advance(time.Minute)
				r.g.Reconcile(ctx)
				if d := r.g.Desired(); d != 4 {
					t.Fatalf("desired %d after the scheduled minimum 4", d)
				}
			},
		},
	}
	for _, row := range rows {
		t.Run(row.behaviour, func(t *testing.T) {
			t.Log(row.cite)
			row.check(t)
		})
	}
}

// recordingSink counts CPU samples in and out of the group average.
type recordingSink struct {
	in, out int
}

func (s *recordingSink) PutCPU(_ time.Time, _ az.InstanceID, _ float64, groupAverage bool) {
	if groupAverage {
		s.in++
	} else {
		s.out++
	}
}

func (s *recordingSink) counts() (int, int) { return s.in, s.out }

// storeSink puts CPU samples into a CloudWatch store as the lab does.
type storeSink struct {
	store *cloudwatch.Store
	group string
}

func (s storeSink) PutCPU(t time.Time, _ az.InstanceID, v float64, groupAverage bool) {
	if groupAverage {
		s.store.Put(cloudwatch.Datum{Namespace: cloudwatch.NamespaceEC2, MetricName: cloudwatch.MetricCPUUtilization,
			Dimensions: cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, s.group), Time: t, Value: v})
	}
}

// trackingDecisionTime runs a group with a target tracking policy (CPU 50)
// whose AlarmHigh has AWS's shape at the given period, sends CPU 90 from a
// minute boundary on, and returns how long (AWS time) until the group
// raises its desired capacity. The group samples CPU every 10 s, and the
// alarm evaluates every period, as CloudWatch does.
func trackingDecisionTime(t *testing.T, period time.Duration) time.Duration {
	t.Helper()
	store := cloudwatch.NewStore()
	zero := time.Duration(0)
	r := newRig(t, func(c *Config) {
		c.DefaultInstanceWarmup = &zero
		c.Policies = []Policy{{Name: "cpu50", Type: TargetTrackingScaling, TargetValue: 50, MetricType: ASGAverageCPUUtilization, Period: period}}
		c.CPU = storeSink{store: store, group: c.Name}
	})
	svc := cloudwatch.NewService(store, r.clock, nil)
	alarms, err := TrackingAlarms("simplydone", "simplydone", r.g.cfg.Policies[0])
	if err != nil {
		t.Fatal(err)
	}
	high := alarms[0] // AlarmHigh, as AWS builds it
	if high.Name != "TargetTracking-simplydone-AlarmHigh-cpu50" || high.Dimensions[cloudwatch.DimAutoScalingGroupName] != "simplydone" {
		t.Fatalf("AlarmHigh %+v", high)
	}
	alarm, err := svc.AddAlarm(cloudwatch.AlarmConfig{Name: high.Name,
		Namespace: high.Namespace, MetricName: high.MetricName,
		Dimensions: cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, "simplydone"), Statistic: high.Statistic,
		Period: high.Period, EvaluationPeriods: high.EvaluationPeriods, DatapointsToAlarm: high.DatapointsToAlarm,
		ComparisonOperator: high.ComparisonOperator, Threshold: high.Threshold})
	if err != nil {
		t.Fatal(err)
	}
	alarm.OnEvaluate(func(st cloudwatch.State, ev cloudwatch.Evaluation) {
		v := 0.0
		for _, p := range ev.Points {
			if !p.Missing {
				v = p.Value
			}
		}
		r.g.OnAlarm(high.Action, ev.Alarm, st == cloudwatch.StateAlarm, v)
	})
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(time.Hour - r.clock.Now().Sub(r.clock.Now().Truncate(time.Hour))) // a minute (and hour) boundary
	r.fleet.mu.Lock()
	r.fleet.cpu = 90
	r.fleet.mu.Unlock()
	start := r.clock.Now()
	for step := 1; step <= 60; step++ {
		r.g.sampleCPU(ctx) // the sample for the 10 s now starting
		r.clock.Advance(10 * time.Second)
		if r.clock.Now().Sub(start)%period == 0 {
			svc.EvaluateAll(r.clock.Now())
		}
		if r.g.Desired() > 2 {
			return r.clock.Now().Sub(start)
		}
	}
	t.Fatal("no scale-out within 10 minutes of the spike")
	return 0
}
