package asg

import (
	"context"
	"testing"
	"time"
)

// waitFor polls cond for up to five wall seconds (goroutines of the group
// act on the fake clock's timers).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *rig) states() map[string]int {
	out := map[string]int{}
	for _, in := range r.g.Instances() {
		out[in.State]++
	}
	return out
}

func (r *recorder) lifecycles(to string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.evs {
		if l, ok := e.(LifecycleChanged); ok && l.To == to {
			n++
		}
	}
	return n
}

// A launch hook holds new instances in Pending:Wait for its heartbeat
// timeout; the default result CONTINUE then puts them in service, a
// completed action earlier (aws-behaviour.md 2.5).
func TestLaunchHookWaitsForTimeoutOrCompletion(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Policies = nil
		c.LifecycleHooks = []LifecycleHook{{Name: "bootstrap", Transition: LaunchingTransition, HeartbeatTimeout: 90 * time.Second, DefaultResult: Continue}}
	})
	r.g.Reconcile(context.Background())
	waitFor(t, "two instances in Pending:Wait", func() bool { return r.ev.lifecycles("Pending:Wait") == 2 })
	if s := r.states(); s[Pending] != 2 || s[InService] != 0 {
		t.Fatalf("states %v while the hook waits", s)
	}
	first := r.g.Instances()[0].ID
	if err := r.g.CompleteLifecycleAction("bootstrap", first, Continue); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the completed instance in service", func() bool { return r.states()[InService] == 1 })
	waitFor(t, "the hook's timer", func() bool { return r.clock.Waiters() >= 1 })
	r.clock.Advance(89 * time.Second)
	if s := r.states(); s[InService] != 1 {
		t.Fatalf("states %v before the heartbeat timeout", s)
	}
	r.clock.Advance(time.Second)
	waitFor(t, "the other instance in service at the timeout", func() bool { return r.states()[InService] == 2 })
	if err := r.g.CompleteLifecycleAction("bootstrap", first, Continue); err == nil {
		t.Fatal("completed an action that is not waiting")
	}
}

// ABANDON on launch terminates the instance; the group launches another.
func TestLaunchHookAbandonReplacesTheInstance(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Desired, c.Policies = 1, nil
		c.LifecycleHooks = []LifecycleHook{{Name: "check", Transition: LaunchingTransition}} // default: 3600 s, ABANDON
	})
	r.g.Reconcile(context.Background())
	waitFor(t, "Pending:Wait", func() bool { return r.ev.lifecycles("Pending:Wait") == 1 })
	waitFor(t, "the hook's timer", func() bool { return r.clock.Waiters() >= 1 })
	r.clock.Advance(time.Hour)
	waitFor(t, "the abandoned instance terminated", func() bool { return r.ev.lifecycles(Terminated) == 1 })
	r.g.Reconcile(context.Background())
	if r.ev.activities("Launch") != 2 {
		t.Fatalf("%d launches, want a replacement", r.ev.activities("Launch"))
	}
}

// A termination hook holds the instance in Terminating:Wait after it is
// deregistered and before it ends (connection drain, log shipping).
func TestTerminateHookHoldsTheInstance(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Policies = nil
		c.LifecycleHooks = []LifecycleHook{{Name: "drain", Transition: TerminatingTransition, HeartbeatTimeout: 60 * time.Second}}
	})
	ctx := context.Background()
	r.g.Reconcile(ctx)
	if err := r.g.SetDesired(1); err != nil {
		t.Fatal(err)
	}
	r.g.Reconcile(ctx)
	waitFor(t, "Terminating:Wait", func() bool { return r.ev.lifecycles("Terminating:Wait") == 1 })
	if len(r.fleet.ended) != 0 {
		t.Fatal("ended before the hook")
	}
	waitFor(t, "the hook's timer", func() bool { return r.clock.Waiters() >= 1 })
	r.clock.Advance(60 * time.Second)
	waitFor(t, "terminated after the timeout", func() bool { return r.ev.lifecycles(Terminated) == 1 })
}

func TestHooksAreChecked(t *testing.T) {
	for _, h := range []LifecycleHook{
		{Name: "x", Transition: "launch"},
		{Name: "x", Transition: LaunchingTransition, HeartbeatTimeout: 10 * time.Second},
		{Name: "x", Transition: LaunchingTransition, DefaultResult: "MAYBE"},
	} {
		cfg := Config{LifecycleHooks: []LifecycleHook{h}}
		if err := checkHooks(cfg.LifecycleHooks); err == nil {
			t.Errorf("%+v accepted", h)
		}
	}
}
