package asg

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// refreshRig is a group whose new targets start "initial" and pass (or, for
// a bad version, fail) their first health check within one tick.
type refreshRig struct {
	*rig
	bad map[int]bool // versions whose instances fail their health checks
}

func newRefreshRig(t *testing.T, desired int, mut func(*Config)) *refreshRig {
	t.Helper()
	r := newRig(t, func(c *Config) {
		c.Desired, c.Max = desired, 2*desired
		c.Policies = nil
		if mut != nil {
			mut(c)
		}
	})
	r.tg.initial = "initial"
	rr := &refreshRig{rig: r, bad: map[int]bool{}}
	r.g.Reconcile(context.Background())
	rr.checkTargets()
	r.clock.Advance(time.Hour) // everyone warm
	return rr
}

// checkTargets runs the load balancer's first health check on new targets.
func (r *refreshRig) checkTargets() {
	r.fleet.mu.Lock()
	versions := maps2(r.fleet.versions)
	r.fleet.mu.Unlock()
	r.tg.mu.Lock()
	defer r.tg.mu.Unlock()
	for id, s := range r.tg.state {
		if s == "initial" {
			if r.bad[versions[string(id)]] {
				r.tg.state[id] = "unhealthy"
			} else {
				r.tg.state[id] = "healthy"
			}
		}
	}
}

// tick is one ASG tick: 10 s pass, the group reconciles, terminations
// finish, the load balancer checks new targets.
func (r *refreshRig) tick(t *testing.T) {
	t.Helper()
	r.clock.Advance(10 * time.Second)
	r.g.Reconcile(context.Background())
	r.settle(t)
	r.checkTargets()
}

// census counts live instances, those healthy behind the load balancer and
// warmed up (what counts toward min healthy, aws-behaviour.md 2.9), and
// those on a version.
func (r *refreshRig) census(version int) (live, healthy, onVersion int) {
	now := r.clock.Now()
	for _, in := range r.g.Instances() {
		if in.State != Pending && in.State != InService {
			continue
		}
		live++
		if r.tg.State(in.ID) == "healthy" && !now.Before(in.WarmUntil) {
			healthy++
		}
		if in.Template == version {
			onVersion++
		}
	}
	return
}

// runRefresh ticks until the refresh ends (at most an AWS hour), checking
// invariants on every tick.
func (r *refreshRig) runRefresh(t *testing.T, each func(live, healthy int)) Refresh {
	t.Helper()
	for range 360 {
		r.tick(t)
		live, healthy, _ := r.census(0)
		if each != nil {
			each(live, healthy)
		}
		if ref, _ := r.g.InstanceRefresh(); ref.Done() {
			return ref
		}
	}
	ref, _ := r.g.InstanceRefresh()
	t.Fatalf("the refresh did not end within an hour: %+v", ref)
	return ref
}

func maps2[K ~string, V any](m map[K]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

func pct(n int) *int { return &n }

func (r *refreshRig) statuses() []string {
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	var out []string
	for _, e := range r.ev.evs {
		if ir, ok := e.(InstanceRefreshChanged); ok && (len(out) == 0 || out[len(out)-1] != ir.Status) {
			out = append(out, ir.Status)
		}
	}
	return out
}

// With MaxHealthyPercentage 100 (the default) the refresh terminates a
// batch, then launches its replacements, and waits for them to be healthy
// and warm before the next batch (aws-behaviour.md 2.8, 2.9).
func TestRefreshTerminatesThenLaunchesInBatches(t *testing.T) {
	r := newRefreshRig(t, 4, nil)
	if _, err := r.g.StartInstanceRefresh(2, RefreshPreferences{}); err != nil {
		t.Fatal(err)
	}
	before := len(r.fleet.order)
	minHealthy := 4
	ref := r.runRefresh(t, func(live, healthy int) {
		minHealthy = min(minHealthy, healthy)
		if live > 4 {
			t.Fatalf("%d live instances; max healthy 100%% allows no more than desired (4)", live)
		}
	})
	if ref.Status != RefreshSuccessful || ref.PercentageComplete != 100 {
		t.Fatalf("refresh ended %s at %d%%: %s", ref.Status, ref.PercentageComplete, ref.StatusReason)
	}
	if _, _, v2 := r.census(2); v2 != 4 {
		t.Fatalf("%d instances on version 2, want 4", v2)
	}
	// min 90% of 4 rounds up to 4; AWS still replaces one at a time.
	if minHealthy != 3 {
		t.Fatalf("healthy went down to %d, want 3 (one at a time)", minHealthy)
	}
	if first := r.fleet.order[before]; !strings.HasPrefix(first, "terminate") {
		t.Fatalf("first action %q, want a termination (terminate and launch)", first)
	}
	for i := before; i+1 < len(r.fleet.order); i += 2 {
		if !strings.HasPrefix(r.fleet.order[i], "terminate") || !strings.HasPrefix(r.fleet.order[i+1], "launch") {
			t.Fatalf("actions %v: want terminate, launch, terminate, launch, ...", r.fleet.order[before:])
		}
	}
	if got := r.statuses(); !slices.Equal(got, []string{RefreshPending, RefreshInProgress, RefreshSuccessful}) {
		t.Fatalf("statuses %v", got)
	}
}

// Above 100% the refresh launches first and terminates once the new
// instances are healthy and warm: healthy never drops below min (100%)
// and the group never goes above max (150% of 4 = 6).
func TestRefreshLaunchesBeforeTerminatingAboveMax100(t *testing.T) {
	r := newRefreshRig(t, 4, nil)
	before := len(r.fleet.order)
	if _, err := r.g.StartInstanceRefresh(2, RefreshPreferences{MinHealthyPercentage: pct(100), MaxHealthyPercentage: pct(150)}); err != nil {
		t.Fatal(err)
	}
	most := 0
	ref := r.runRefresh(t, func(live, healthy int) {
		most = max(most, live)
		if healthy < 4 {
			t.Fatalf("healthy %d below min healthy 100%% of 4", healthy)
		}
	})
	if ref.Status != RefreshSuccessful {
		t.Fatalf("refresh %s: %s", ref.Status, ref.StatusReason)
	}
	if most != 6 {
		t.Fatalf("at most %d live, want 6 (150%% of 4)", most)
	}
	if first := r.fleet.order[before]; !strings.HasPrefix(first, "launch") {
		t.Fatalf("first action %q, want a launch (launch before terminating)", first)
	}
	if live, _, v2 := r.census(2); live != 4 || v2 != 4 {
		t.Fatalf("after the refresh %d live, %d on version 2", live, v2)
	}
}

// A new version that fails its health checks: with auto rollback the
// refresh rolls back to the previous version (aws-behaviour.md 2.8).
func TestRefreshRollsBackWhenNewInstancesFailHealthChecks(t *testing.T) {
	r := newRefreshRig(t, 3, nil)
	r.bad[3] = true
	if _, err := r.g.StartInstanceRefresh(3, RefreshPreferences{AutoRollback: true}); err != nil {
		t.Fatal(err)
	}
	minHealthy := 3
	ref := r.runRefresh(t, func(_, healthy int) { minHealthy = min(minHealthy, healthy) })
	if ref.Status != RefreshRollbackSuccessful {
		t.Fatalf("refresh %s: %s", ref.Status, ref.StatusReason)
	}
	if live, _, v1 := r.census(1); live != 3 || v1 != 3 {
		t.Fatalf("after the rollback %d live, %d on version 1", live, v1)
	}
	if minHealthy < 2 {
		t.Fatalf("healthy went down to %d during the bad deploy", minHealthy)
	}
	if v := r.g.LaunchTemplateVersion(); v != 1 {
		t.Fatalf("the group launches version %d after the rollback, want 1", v)
	}
	want := []string{RefreshPending, RefreshInProgress, RefreshRollbackInProgress, RefreshRollbackSuccessful}
	if got := r.statuses(); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

// Without auto rollback the refresh fails and the replaced instances stay.
func TestRefreshFailsWithoutRollback(t *testing.T) {
	r := newRefreshRig(t, 3, nil)
	r.bad[3] = true
	if _, err := r.g.StartInstanceRefresh(3, RefreshPreferences{}); err != nil {
		t.Fatal(err)
	}
	ref := r.runRefresh(t, nil)
	if ref.Status != RefreshFailed || !strings.Contains(ref.StatusReason, "failed its health checks") {
		t.Fatalf("refresh %s: %s", ref.Status, ref.StatusReason)
	}
}

// Checkpoints pause the refresh for the checkpoint delay.
func TestRefreshPausesAtCheckpoints(t *testing.T) {
	r := newRefreshRig(t, 4, nil)
	delay := 10 * time.Minute
	start := r.clock.Now()
	if _, err := r.g.StartInstanceRefresh(2, RefreshPreferences{CheckpointPercentages: []int{50}, CheckpointDelay: &delay, MinHealthyPercentage: pct(50)}); err != nil {
		t.Fatal(err)
	}
	ref := r.runRefresh(t, nil)
	if ref.Status != RefreshSuccessful {
		t.Fatalf("refresh %s", ref.Status)
	}
	took := r.clock.Now().Sub(start)
	if took < delay {
		t.Fatalf("took %s, less than the checkpoint delay", took)
	}
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	n := 0
	for _, e := range r.ev.evs {
		if ir, ok := e.(InstanceRefreshChanged); ok && strings.Contains(ir.Note, "checkpoint reached") {
			n++
			if ir.PercentageComplete != 50 {
				t.Errorf("checkpoint at %d%%", ir.PercentageComplete)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d checkpoint events, want 1", n)
	}
}

// SkipMatching leaves instances already on the version alone; a refresh
// already running blocks another.
func TestRefreshSkipMatchingAndOneAtATime(t *testing.T) {
	r := newRefreshRig(t, 2, nil)
	if _, err := r.g.StartInstanceRefresh(1, RefreshPreferences{SkipMatching: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.g.StartInstanceRefresh(2, RefreshPreferences{}); err != ErrRefreshInProgress {
		t.Fatalf("second refresh: %v", err)
	}
	launches := r.ev.activities("Launch")
	ref := r.runRefresh(t, nil)
	if ref.Status != RefreshSuccessful || r.ev.activities("Launch") != launches {
		t.Fatalf("refresh %s launched %d", ref.Status, r.ev.activities("Launch")-launches)
	}
}

func TestRefreshPreferencesAreChecked(t *testing.T) {
	r := newRefreshRig(t, 2, nil)
	for _, p := range []RefreshPreferences{
		{MinHealthyPercentage: pct(101)},
		{MaxHealthyPercentage: pct(99)},
		{MaxHealthyPercentage: pct(201)},
		{MinHealthyPercentage: pct(0), MaxHealthyPercentage: pct(150)},
		{CheckpointPercentages: []int{50, 20}},
	} {
		if _, err := r.g.StartInstanceRefresh(2, p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// Redeploy stops every instance at once, without draining, and the group
// launches the new version in their place.
func TestRedeployStopsEverythingThenLaunches(t *testing.T) {
	r := newRefreshRig(t, 2, nil)
	if err := r.g.Redeploy(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	r.settle(t)
	if live, _, _ := r.census(1); live != 0 {
		t.Fatalf("%d instances still live after the stop", live)
	}
	r.tick(t)
	if live, _, v2 := r.census(2); live != 2 || v2 != 2 {
		t.Fatalf("%d live, %d on version 2", live, v2)
	}
}
