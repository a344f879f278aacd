package asg

import (
	"context"
	"testing"
	"time"
)

// With an instance maintenance policy above 100%, an instance that fails
// its ELB health check is replaced launch-first: the new one launches, and
// the unhealthy one is terminated once the new one is healthy and warm. A
// killed instance is still terminated first (aws-behaviour.md 2.9).
func TestMaintenancePolicyLaunchesBeforeTerminating(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy *MaintenancePolicy
		kill   bool
		want   []string
	}{
		{"no policy: terminate and launch", nil, false, []string{"Terminate", "Launch"}},
		{"max 100: terminate and launch", &MaintenancePolicy{MinHealthyPercentage: 90, MaxHealthyPercentage: 100}, false, []string{"Terminate", "Launch"}},
		{"max 150: launch before terminating", &MaintenancePolicy{MinHealthyPercentage: 100, MaxHealthyPercentage: 150}, false, []string{"Launch", "Terminate"}},
		{"max 150, killed: terminate first all the same", &MaintenancePolicy{MinHealthyPercentage: 100, MaxHealthyPercentage: 150}, true, []string{"Terminate", "Launch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) { c.Desired = 4; c.Policies = nil; c.MaintenancePolicy = tc.policy })
			ctx := context.Background()
			r.g.Reconcile(ctx)
			r.clock.Advance(time.Hour) // past grace and warm-up
			victim := r.g.Instances()[0].ID
			if tc.kill {
				r.fleet.kill(victim)
			} else {
				r.tg.set(victim, "unhealthy")
			}
			before := len(r.ev.actions())
			most := 0
			for range 10 {
				r.g.Reconcile(ctx)
				r.settle(t)
				most = max(most, len(r.g.Instances()))
				r.clock.Advance(10 * time.Second)
			}
			got := r.ev.actions()[before:]
			if len(got) != 2 || got[0] != tc.want[0] || got[1] != tc.want[1] {
				t.Fatalf("actions %v, want %v", got, tc.want)
			}
			if n := len(r.g.Instances()); n != 4 {
				t.Fatalf("%d instances after the replacement", n)
			}
			if tc.want[0] == "Launch" && most != 5 {
				t.Fatalf("at most %d instances, want 5 (one above desired while replacing)", most)
			}
		})
	}
}

// actions lists the scaling activities that happened (failed launches
// left out), in order.
func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if a, ok := e.(ScalingActivity); ok && a.Status == "" {
			out = append(out, a.Action)
		}
	}
	return out
}
