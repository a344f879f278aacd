package asg

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// exitFleet is a fakeFleet that says why an instance stopped: causes holds
// an instance's own exit; one missing was stopped on purpose.
type exitFleet struct {
	*fakeFleet
	causes map[az.InstanceID]string
}

func (f *exitFleet) ExitCause(id az.InstanceID) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.causes[id]
	return c, ok
}

func (f *exitFleet) exits(id az.InstanceID, cause string) {
	f.kill(id)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.causes[id] = cause
}

// exitRig is a group of two whose targets start initial (nothing has
// served), over an exitFleet.
func exitRig(t *testing.T, healthyAtOnce bool, mut ...func(*Config)) (*rig, *exitFleet) {
	t.Helper()
	var ef *exitFleet
	r := newRig(t, func(c *Config) {
		ef = &exitFleet{fakeFleet: c.Fleet.(*fakeFleet), causes: map[az.InstanceID]string{}}
		c.Fleet = ef
		for _, m := range mut {
			m(c)
		}
	})
	if !healthyAtOnce {
		r.tg.initial = "initial"
	}
	return r, ef
}

func (r *recorder) scaling() []ScalingActivity {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ScalingActivity
	for _, e := range r.evs {
		if a, ok := e.(ScalingActivity); ok {
			out = append(out, a)
		}
	}
	return out
}

func failedLaunches(r *rig) []ScalingActivity {
	var out []ScalingActivity
	for _, a := range r.ev.scaling() {
		if a.Action == "Launch" && a.Status == ActivityFailed {
			out = append(out, a)
		}
	}
	return out
}

func TestInstanceThatExitsBeforeServingIsAFailedLaunch(t *testing.T) {
	r, ef := exitRig(t, false)
	ctx := context.Background()
	r.g.Reconcile(ctx)
	victim := r.g.Instances()[0]
	var launchCause string
	for _, a := range r.ev.scaling() {
		if a.Instance == string(victim.ID) {
			launchCause = a.Cause
		}
	}
	ef.exits(victim.ID, "its program exited on its own: listen tcp 127.0.1.10:8080: bind: address already in use")
	r.clock.Advance(10 * time.Second)
	r.g.Reconcile(ctx)
	r.settle(t)

	failed := failedLaunches(r)
	if len(failed) != 1 {
		t.Fatalf("%d failed launch activities, want 1: %+v", len(failed), r.ev.scaling())
	}
	a := failed[0]
	wantDesc := "Launching a new EC2 instance: " + string(victim.ID) + ". Status Reason: Instance became unhealthy while waiting for instance to be in InService state. " +
		"Termination Reason: Client.InstanceInitiatedShutdown: Instance initiated shutdown (its program exited on its own: listen tcp 127.0.1.10:8080: bind: address already in use). Launching EC2 instance failed"
	switch {
	case a.Instance != string(victim.ID) || a.Zone != victim.Zone:
		t.Errorf("activity names %s in %s, want %s in %s", a.Instance, a.Zone, victim.ID, victim.Zone)
	case a.Description != wantDesc:
		t.Errorf("description\n got %q\nwant %q", a.Description, wantDesc)
	case !strings.Contains(a.StatusMessage, "address already in use"):
		t.Errorf("status message %q lacks the cause", a.StatusMessage)
	case a.Cause != launchCause || launchCause == "":
		t.Errorf("cause %q, want the launch's own %q", a.Cause, launchCause)
	case !strings.HasPrefix(a.Message(), "Failed: Launching a new EC2 instance: "):
		t.Errorf("console line %q does not lead with its status", a.Message())
	}
	if n := r.ev.activities("Terminate"); n != 0 {
		t.Errorf("%d Terminate activities: a failed launch is not also a health-check replacement", n)
	}
	for _, in := range r.g.Instances() {
		if in.ID == victim.ID {
			t.Fatalf("the failed instance is still in the group: %+v", in)
		}
	}
	if len(r.g.Instances()) != 2 || r.ev.activities("Launch") != 4 { // 2 launches, 1 failed, 1 relaunch
		t.Fatalf("%d instances, %d launch activities", len(r.g.Instances()), r.ev.activities("Launch"))
	}
}

func TestStoppedOnPurposeBeforeServingIsAHealthReplacement(t *testing.T) {
	r, _ := exitRig(t, false)
	ctx := context.Background()
	r.g.Reconcile(ctx)
	victim := r.g.Instances()[0]
	r.fleet.kill(victim.ID) // chaos: the fleet gives no exit cause
	r.clock.Advance(10 * time.Second)
	r.g.Reconcile(ctx)
	r.settle(t)
	if f := failedLaunches(r); len(f) != 0 {
		t.Fatalf("a kill on purpose made failed launches: %+v", f)
	}
	if n := r.ev.activities("Terminate"); n != 1 {
		t.Fatalf("%d Terminate activities, want the health-check replacement", n)
	}
}

func TestInstanceThatServedThenExitsIsAHealthReplacement(t *testing.T) {
	r, ef := exitRig(t, true) // healthy at registration: it has served
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(10 * time.Second)
	r.g.Reconcile(ctx) // the group sees it healthy
	victim := r.g.Instances()[0]
	ef.exits(victim.ID, "its program exited on its own: panic")
	r.clock.Advance(10 * time.Second)
	r.g.Reconcile(ctx)
	r.settle(t)
	if f := failedLaunches(r); len(f) != 0 {
		t.Fatalf("an instance that had served made a failed launch: %+v", f)
	}
	var term ScalingActivity
	for _, a := range r.ev.scaling() {
		if a.Action == "Terminate" {
			term = a
		}
	}
	if term.Instance != string(victim.ID) || !strings.Contains(term.Cause, causeNotRunning) {
		t.Fatalf("want the EC2 health-check replacement of %s, got %+v", victim.ID, term)
	}
}

// failBooter is EC2 failing to start every instance.
type failBooter struct{ err error }

func (b failBooter) Boot(context.Context, az.InstanceID) error { return b.err }

func TestBootErrorIsAFailedLaunch(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Desired, c.Min = 1, 1
		c.Booter = failBooter{errors.New(`start instance: command "nope": not on PATH`)}
	})
	r.g.Reconcile(context.Background())
	r.settle(t)
	failed := failedLaunches(r)
	if len(failed) == 0 {
		t.Fatalf("no failed launch activity: %+v", r.ev.scaling())
	}
	a := failed[0]
	if !strings.HasPrefix(a.Description, "Launching a new EC2 instance: i-01. Status Reason: start instance: command \"nope\": not on PATH") ||
		!strings.HasSuffix(a.Description, "Launching EC2 instance failed") || a.StatusMessage != `start instance: command "nope": not on PATH` ||
		!strings.Contains(a.Cause, "difference between desired and actual capacity") {
		t.Fatalf("activity %+v", a)
	}
	if n := r.ev.activities("Terminate"); n != 0 {
		t.Fatalf("%d Terminate activities for an instance that never started", n)
	}
}

// refusingFleet is RunInstances failing: no instance at all.
type refusingFleet struct{ *fakeFleet }

func (refusingFleet) Launch(context.Context, string, int) (az.InstanceID, netip.AddrPort, error) {
	return "", netip.AddrPort{}, errors.New("no free address in us-east-1a")
}

func TestRunInstancesErrorIsAFailedLaunchWithoutAnInstance(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Fleet = refusingFleet{c.Fleet.(*fakeFleet)} })
	r.g.Reconcile(context.Background())
	failed := failedLaunches(r)
	if len(failed) != 1 {
		t.Fatalf("%d failed launch activities, want 1 (the group tries again next tick)", len(failed))
	}
	if a := failed[0]; a.Instance != "" || a.Description != "Launching a new EC2 instance. Status Reason: no free address in us-east-1a. Launching EC2 instance failed" {
		t.Fatalf("activity %+v", a)
	}
}

// An instance whose program exits while a launch hook holds it (Pending:Wait,
// an hour by default) fails its launch at the next check, not at the
// heartbeat timeout: the hook is abandoned and the group launches again.
func TestInstanceThatExitsInALaunchHookFailsAtOnce(t *testing.T) {
	r, ef := exitRig(t, false, func(c *Config) {
		c.Desired = 1
		c.LifecycleHooks = []LifecycleHook{{Name: "wait-for-app", Transition: LaunchingTransition}} // 3600 s, ABANDON
	})
	ctx := context.Background()
	r.g.Reconcile(ctx)
	waitFor(t, "Pending:Wait", func() bool { return r.ev.lifecycles("Pending:Wait") == 1 })
	victim := r.g.Instances()[0]
	ef.exits(victim.ID, "its program exited on its own: boom")
	r.clock.Advance(10 * time.Second)
	r.g.Reconcile(ctx)
	waitFor(t, "the launch hook abandoned", func() bool { return r.ev.completed(victim.ID, Abandon) })
	waitFor(t, "the failed instance terminated", func() bool { return r.ev.lifecycles(Terminated) == 1 })
	if f := failedLaunches(r); len(f) != 1 || f[0].Instance != string(victim.ID) {
		t.Fatalf("failed launches %+v", f)
	}
	r.g.Reconcile(ctx)
	if n := r.ev.activities("Launch"); n != 3 { // the launch, its failure, the relaunch
		t.Fatalf("%d launch activities, want the relaunch well before the hour", n)
	}
}

func (r *recorder) completed(id az.InstanceID, result string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if c, ok := e.(LifecycleActionCompleted); ok && c.Instance == string(id) && c.Result == result {
			return true
		}
	}
	return false
}
