package asg

import (
	"context"
	"strings"
	"testing"
	"time"
)

func n(v int) *int { return &v }

// Scheduled actions set min, max and desired at their time, ignore
// cooldowns, and recur (aws-behaviour.md 2.6, scheduled scaling).
func TestScheduledActionsSetCapacityAtTheirTime(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Policies = nil
		c.ScheduledActions = []ScheduledAction{
			{Name: "sale-starts", At: 5 * time.Minute, MinSize: n(4), MaxSize: n(8)}, // min above desired raises desired
			{Name: "sale-ends", At: 20 * time.Minute, MinSize: n(1), MaxSize: n(6), Desired: n(2)},
			{Name: "hourly-bump", At: 30 * time.Minute, Recurrence: 10 * time.Minute, Desired: n(3)},
		}
	})
	ctx := context.Background()
	step := func(d time.Duration) {
		r.clock.Advance(d)
		r.g.Reconcile(ctx)
		r.settle(t)
	}
	step(0)
	if d := r.g.Desired(); d != 2 {
		t.Fatalf("desired %d at the start", d)
	}
	step(4*time.Minute + 50*time.Second)
	if d := r.g.Desired(); d != 2 {
		t.Fatalf("desired %d before the action's time", d)
	}
	step(10 * time.Second)
	if mn, mx := r.g.Limits(); r.g.Desired() != 4 || mn != 4 || mx != 8 || len(r.g.Instances()) != 4 {
		t.Fatalf("after sale-starts: desired %d min %d max %d, %d instances", r.g.Desired(), mn, mx, len(r.g.Instances()))
	}
	if err := r.g.SetDesired(3); err == nil {
		t.Fatal("desired 3 accepted below the scheduled minimum 4")
	}
	step(15 * time.Minute)
	if d := r.g.Desired(); d != 2 || len(r.g.Instances()) != 2 {
		t.Fatalf("after sale-ends: desired %d, %d instances", d, len(r.g.Instances()))
	}
	step(10 * time.Minute) // 30 min: hourly-bump
	if d := r.g.Desired(); d != 3 {
		t.Fatalf("desired %d after the first recurrence", d)
	}
	if err := r.g.SetDesired(2); err != nil {
		t.Fatal(err)
	}
	step(10 * time.Minute) // 40 min: again
	if d := r.g.Desired(); d != 3 {
		t.Fatalf("desired %d after the second recurrence", d)
	}
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	found := false
	for _, e := range r.ev.evs {
		if s, ok := e.(ScheduledActionExecuted); ok && s.Action == "sale-starts" {
			found = strings.Contains(s.Message(), "a scheduled action update of AutoScalingGroup constraints to min: 4, max: 8, desired: 4 changing the desired capacity from 2 to 4")
		}
	}
	if !found {
		t.Fatal("no scheduled action event in AWS's words")
	}
}
