package asg

import (
	"context"
	"testing"
	"time"
)

func TestTrackingCapacity(t *testing.T) {
	cases := []struct {
		name           string
		side           Side
		capacity       int
		metric, target float64
		want           int
	}{
		{"out proportional, rounded up", AlarmHigh, 4, 90, 50, 8},  // ceil 7.2
		{"out exact ratio", AlarmHigh, 4, 100, 50, 8},              // 8.0
		{"out just over target adds one", AlarmHigh, 4, 51, 50, 5}, // ceil 4.08
		{"out float noise", AlarmHigh, 3, 70, 30, 7},               // 7.000000000000001
		{"out from nothing", AlarmHigh, 0, 90, 50, 1},              // at least one more
		{"out 1.5 to add becomes 2", AlarmHigh, 2, 75, 50, 3},      // 3.0: adds 1
		{"out 10 at 65 vs 50", AlarmHigh, 10, 65, 50, 13},          // 13.0
		{"in conservative", AlarmLow, 4, 30, 50, 3},                // ceil 2.4: removes 1, not 1.6
		{"in 1.5 to remove becomes 1", AlarmLow, 3, 25, 50, 2},     // 1.5 -> 2
		{"in exact", AlarmLow, 10, 20, 50, 4},                      // 4.0
		{"in never above capacity", AlarmLow, 4, 60, 50, 4},        // metric above target
		{"in zero load", AlarmLow, 4, 0, 50, 0},                    // clamped to min later
	}
	for _, c := range cases {
		if got := trackingCapacity(c.side, c.capacity, c.metric, c.target); got != c.want {
			t.Errorf("%s: trackingCapacity(%v, %d, %v, %v) = %d, want %d", c.name, c.side, c.capacity, c.metric, c.target, got, c.want)
		}
	}
}

func TestCombineTrackingPolicies(t *testing.T) {
	out := func(p string, n int) vote { return vote{Policy: p, Side: AlarmHigh, Capacity: n, Basis: 4} }
	in := func(p string, n, basis int) vote { return vote{Policy: p, Side: AlarmLow, Capacity: n, Basis: basis} }
	cases := []struct {
		name       string
		votes      []vote
		scaleIn    []string
		canScaleIn bool
		want       int
		winner     string
		changed    bool
	}{
		{"one out", []vote{out("cpu", 6)}, []string{"cpu", "req"}, true, 6, "cpu", true},
		{"largest out wins", []vote{out("cpu", 6), out("req", 9)}, []string{"cpu", "req"}, true, 9, "req", true},
		{"out beats in", []vote{out("cpu", 5), in("req", 2, 4)}, []string{"cpu", "req"}, true, 5, "cpu", true},
		{"out below desired blocks scale-in", []vote{out("cpu", 4), in("req", 2, 4)}, []string{"cpu", "req"}, true, 4, "cpu", false},
		{"in needs every policy", []vote{in("req", 2, 4)}, []string{"cpu", "req"}, true, 4, "", false},
		{"in when all agree, largest wins", []vote{in("cpu", 3, 4), in("req", 2, 4)}, []string{"cpu", "req"}, true, 3, "cpu", true},
		{"scale-in disabled policy does not block", []vote{in("req", 2, 4)}, []string{"req"}, true, 2, "req", true},
		{"in blocked by warm-up", []vote{in("cpu", 3, 4)}, []string{"cpu"}, false, 4, "", false},
		{"stale in vote does not count", []vote{in("cpu", 3, 5), in("req", 2, 4)}, []string{"cpu", "req"}, true, 4, "", false},
		{"no scale-in policy", nil, nil, true, 4, "", false},
	}
	for _, c := range cases {
		votes := map[string]vote{}
		for _, v := range c.votes {
			votes[v.Policy] = v
		}
		got, w, changed := combine(4, 4, votes, c.scaleIn, c.canScaleIn)
		if got != c.want || changed != c.changed || w.Policy != c.winner {
			t.Errorf("%s: combine = %d %q %v, want %d %q %v", c.name, got, w.Policy, changed, c.want, c.winner, c.changed)
		}
	}
}

func trackingRig(t *testing.T, mut func(*Config)) *rig {
	return newRig(t, func(c *Config) {
		c.Desired, c.Max = 4, 10
		c.Policies = append(c.Policies,
			Policy{Name: "cpu50", Type: TargetTrackingScaling, TargetValue: 50},
			Policy{Name: "req100", Type: TargetTrackingScaling, TargetValue: 100},
		)
		if mut != nil {
			mut(c)
		}
	})
}

func TestTargetTrackingScalesOutProportionallyAndWaitsForWarmup(t *testing.T) {
	r := trackingRig(t, nil)
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(120 * time.Second) // all four warm
	if d, ok := r.g.TrackTarget("cpu50", "TargetTracking-simplydone-AlarmHigh-cpu50", AlarmHigh, true, 90); !ok || d != 8 {
		t.Fatalf("CPU 90 vs 50 on 4: desired %d changed %v, want 8", d, ok)
	}
	var ev DesiredCapacityChanged
	for _, e := range r.ev.evs {
		if d, ok := e.(DesiredCapacityChanged); ok {
			ev = d
		}
	}
	if ev.Policy != "cpu50" || ev.Alarm != "TargetTracking-simplydone-AlarmHigh-cpu50" || ev.From != 4 || ev.To != 8 {
		t.Fatalf("event %+v", ev)
	}
	r.g.Reconcile(ctx)
	// The four new instances warm up; the metric from the warm four is
	// still 90, which the new ones already answer.
	if d, ok := r.g.TrackTarget("cpu50", "hi", AlarmHigh, true, 90); ok || d != 8 {
		t.Fatalf("breach during warm-up: desired %d changed %v, want 8 unchanged", d, ok)
	}
	// Scale-in is blocked while instances warm up.
	r.g.TrackTarget("cpu50", "hi", AlarmHigh, false, 20)
	r.g.TrackTarget("cpu50", "lo", AlarmLow, true, 10)
	if d, ok := r.g.TrackTarget("req100", "lo", AlarmLow, true, 10); ok || d != 8 {
		t.Fatalf("scale-in during warm-up: desired %d changed %v", d, ok)
	}
	r.clock.Advance(60 * time.Second)
	// Only one policy agrees: no scale-in.
	r.g.TrackTarget("req100", "lo", AlarmLow, false, 80)
	if d, ok := r.g.TrackTarget("cpu50", "lo", AlarmLow, true, 30); ok || d != 8 {
		t.Fatalf("scale-in with one policy agreeing: desired %d changed %v", d, ok)
	}
	// Both agree: the larger capacity wins (cpu: ceil(8×30/50)=5, req: ceil(8×20/100)=2).
	if d, ok := r.g.TrackTarget("req100", "lo", AlarmLow, true, 20); !ok || d != 5 {
		t.Fatalf("scale-in with both agreeing: desired %d changed %v, want 5", d, ok)
	}
}

func TestTargetTrackingOutWinsAndRespectsMax(t *testing.T) {
	r := trackingRig(t, func(c *Config) { c.Max = 7 })
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(120 * time.Second)
	r.g.TrackTarget("req100", "lo", AlarmLow, true, 10)
	if d, ok := r.g.TrackTarget("cpu50", "hi", AlarmHigh, true, 90); !ok || d != 7 {
		t.Fatalf("scale-out to max: desired %d changed %v, want 7 (8 clamped)", d, ok)
	}
}

func TestTargetTrackingDisableScaleIn(t *testing.T) {
	r := trackingRig(t, func(c *Config) {
		for i := range c.Policies {
			if c.Policies[i].Name == "req100" {
				c.Policies[i].DisableScaleIn = true
			}
		}
	})
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(120 * time.Second)
	if _, ok := r.g.TrackTarget("req100", "lo", AlarmLow, true, 10); ok {
		t.Fatal("a policy with scale-in disabled scaled in")
	}
	// cpu50 alone decides scale-in: ceil(4×20/50) = 2.
	if d, ok := r.g.TrackTarget("cpu50", "lo", AlarmLow, true, 20); !ok || d != 2 {
		t.Fatalf("scale-in: desired %d changed %v, want 2", d, ok)
	}
	r.g.Reconcile(ctx)
	r.settle(t)
	if n := len(r.g.Instances()); n != 2 {
		t.Fatalf("%d instances after scale-in", n)
	}
}

func TestExecutePolicyIgnoresTargetTracking(t *testing.T) {
	r := trackingRig(t, nil)
	r.g.Reconcile(context.Background())
	if _, ok := r.g.ExecutePolicy("cpu50", "hi", 99); ok {
		t.Fatal("ExecutePolicy ran a target tracking policy")
	}
}

func TestNewRefusesTargetValueZero(t *testing.T) {
	r := newRig(t, nil)
	cfg := r.g.cfg
	cfg.Policies = []Policy{{Name: "bad", Type: TargetTrackingScaling}}
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted a target value of 0")
	}
}
