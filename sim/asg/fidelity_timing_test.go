package asg

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// fakeBooter is EC2 starting pending instances: it records each boot and
// whether the target group knew the instance then.
type fakeBooter struct {
	mu    sync.Mutex
	tg    *fakeTargets
	boots []az.InstanceID
	early []az.InstanceID // booted while already registered: wrong order
}

func (b *fakeBooter) Boot(_ context.Context, id az.InstanceID) error {
	registered := b.tg.State(id) != ""
	b.mu.Lock()
	defer b.mu.Unlock()
	b.boots = append(b.boots, id)
	if registered {
		b.early = append(b.early, id)
	}
	return nil
}

func (b *fakeBooter) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.boots)
}

func (t *fakeTargets) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.state)
}

func (r *recorder) running() []InstanceRunning {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []InstanceRunning
	for _, e := range r.evs {
		if ir, ok := e.(InstanceRunning); ok {
			out = append(out, ir)
		}
	}
	return out
}

// pendingRig is a group whose instances EC2 keeps pending for 16 s.
func pendingRig(t *testing.T, mut func(*Config)) (*rig, *fakeBooter) {
	t.Helper()
	var b *fakeBooter
	r := newRig(t, func(c *Config) {
		c.Policies = nil
		c.PendingTime = 16 * time.Second
		b = &fakeBooter{tg: c.Targets.(*fakeTargets)}
		c.Booter = b
		if mut != nil {
			mut(c)
		}
	})
	return r, b
}

// drainingTargets holds each deregistered target draining until the test
// lets it go, as a deregistration delay does.
type drainingTargets struct {
	*fakeTargets
	mu    sync.Mutex
	drain []chan struct{}
}

func (d *drainingTargets) Deregister(id az.InstanceID) (<-chan struct{}, error) {
	d.set(id, "draining")
	c := make(chan struct{})
	d.mu.Lock()
	d.drain = append(d.drain, c)
	d.mu.Unlock()
	return c, nil
}

func (d *drainingTargets) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.drain {
		close(c)
	}
	d.drain = nil
}

func (d *drainingTargets) draining() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.drain)
}

func dur(d time.Duration) *time.Duration { return &d }

// TestFidelityTiming checks, one row per documented (or observed) EC2 and
// EC2 Auto Scaling timing behaviour, that the group follows it, on a fake
// clock. Each row cites the AWS page (or the observation) it follows
// (../shared/reference/aws-behaviour.md sections 2.5-2.7 and 5).
func TestFidelityTiming(t *testing.T) {
	ctx := context.Background()
	rows := []struct {
		behaviour string
		cite      string
		check     func(t *testing.T)
	}{
		{
			"A new instance is pending for EC2's pending time, then running; only then is it registered and InService",
			"https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-lifecycle.html (scale out: Pending, registered with the load balancer, InService); " +
				"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html (pending, then running); the 16 s is [observed]: brevdev/ec2-coldboot-research 2025 (pending->running 16.4-16.6 s, any family)",
			func(t *testing.T) {
				r, boot := pendingRig(t, nil)
				r.g.Reconcile(ctx)
				if got := r.ev.activities("Launch"); got != 2 {
					t.Fatalf("%d launches, want 2 (RunInstances answers at once)", got)
				}
				waitFor(t, "the pending timers", func() bool { return r.clock.Waiters() >= 2 })
				r.clock.Advance(15 * time.Second)
				if s := r.states(); s[Pending] != 2 || boot.count() != 0 || r.tg.count() != 0 {
					t.Fatalf("after 15 s: states %v, %d booted, %d registered; want 2 pending, nothing started or registered", s, boot.count(), r.tg.count())
				}
				r.clock.Advance(time.Second)
				waitFor(t, "both InService", func() bool { return r.states()[InService] == 2 })
				if len(boot.early) != 0 {
					t.Fatalf("%v registered before EC2 had them running", boot.early)
				}
				for _, ir := range r.ev.running() {
					if ir.Pending != 16 {
						t.Fatalf("%s pending %.1f s, want 16", ir.Instance, ir.Pending)
					}
				}
				for _, in := range r.g.Instances() {
					if !in.InService.Equal(in.Launched.Add(16*time.Second)) || !in.Running.Equal(in.InService) {
						t.Fatalf("%s launched %v running %v in service %v", in.ID, in.Launched, in.Running, in.InService)
					}
				}
			},
		},
		{
			"Launch hooks start once the instance is running; it is registered after they complete",
			"https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html (the instance is put in Pending:Wait after it launches; registered with the load balancer after the hook completes)",
			func(t *testing.T) {
				r, boot := pendingRig(t, func(c *Config) {
					c.Desired = 1
					c.LifecycleHooks = []LifecycleHook{{Name: "bootstrap", Transition: LaunchingTransition, HeartbeatTimeout: 60 * time.Second, DefaultResult: Continue}}
				})
				r.g.Reconcile(ctx)
				waitFor(t, "the pending timer", func() bool { return r.clock.Waiters() >= 1 })
				if r.ev.lifecycles("Pending:Wait") != 0 {
					t.Fatal("the hook started while EC2 had the instance pending")
				}
				r.clock.Advance(16 * time.Second)
				waitFor(t, "Pending:Wait", func() bool { return r.ev.lifecycles("Pending:Wait") == 1 })
				if boot.count() != 1 || len(r.ev.running()) != 1 || r.tg.count() != 0 {
					t.Fatalf("in Pending:Wait: %d booted, %d running events, %d registered", boot.count(), len(r.ev.running()), r.tg.count())
				}
				waitFor(t, "the hook's timer", func() bool { return r.clock.Waiters() >= 1 })
				r.clock.Advance(60 * time.Second)
				waitFor(t, "InService after the hook", func() bool { return r.states()[InService] == 1 })
				if in := r.g.Instances()[0]; in.InService.Sub(in.Launched) != 76*time.Second {
					t.Fatalf("in service %s after launch, want 16 s pending + 60 s hook", in.InService.Sub(in.Launched))
				}
			},
		},
		{
			"An instance terminated while pending is never started",
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html (a pending instance can be terminated)",
			func(t *testing.T) {
				r, boot := pendingRig(t, func(c *Config) { c.Desired = 2 })
				r.g.Reconcile(ctx)
				waitFor(t, "the pending timers", func() bool { return r.clock.Waiters() >= 2 })
				if err := r.g.SetDesired(1); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				r.settle(t)
				r.clock.Advance(16 * time.Second)
				waitFor(t, "the other InService", func() bool { return r.states()[InService] == 1 })
				if boot.count() != 1 || len(r.g.Instances()) != 1 {
					t.Fatalf("%d booted, %d instances; want the terminated one never started", boot.count(), len(r.g.Instances()))
				}
			},
		},
		{
			"A policy's EstimatedInstanceWarmup wins over the group's; without one, DefaultInstanceWarmup, else DefaultCooldown",
			"https://docs.aws.amazon.com/autoscaling/ec2/userguide/consolidated-view-of-warm-up-and-cooldown-settings.html (EstimatedInstanceWarmup -> DefaultInstanceWarmup -> DefaultCooldown); scale-in is blocked until warm-up ends (as-scaling-target-tracking.html)",
			func(t *testing.T) {
				for _, c := range []struct {
					name          string
					group, policy *time.Duration
					blockedAt     time.Duration // scale-in still blocked this long after the new instance is InService
					freeAt        time.Duration
				}{
					{"the policy's 300 s over the group's 60 s", dur(60 * time.Second), dur(300 * time.Second), 299 * time.Second, 300 * time.Second},
					{"the group's 60 s", dur(60 * time.Second), nil, 59 * time.Second, 60 * time.Second},
					{"no warm-up set: the default cooldown (300 s)", nil, nil, 299 * time.Second, 300 * time.Second},
				} {
					r := newRig(t, func(cfg *Config) {
						cfg.DefaultInstanceWarmup = c.group
						cfg.Policies = []Policy{{Name: "cpu50", Type: TargetTrackingScaling, TargetValue: 50, Warmup: c.policy}}
					})
					r.g.Reconcile(ctx)
					r.clock.Advance(time.Hour)
					if _, ok := r.g.TrackTarget("cpu50", "AlarmHigh", AlarmHigh, true, 75); !ok {
						t.Fatalf("%s: no scale-out", c.name)
					}
					r.g.Reconcile(ctx) // the third instance InService now
					r.g.TrackTarget("cpu50", "AlarmHigh", AlarmHigh, false, 0)
					r.clock.Advance(c.blockedAt)
					if d, ok := r.g.TrackTarget("cpu50", "AlarmLow", AlarmLow, true, 10); ok {
						t.Fatalf("%s: scaled in to %d %s after the launch, inside the warm-up", c.name, d, c.blockedAt)
					}
					r.clock.Advance(c.freeAt - c.blockedAt)
					if _, ok := r.g.TrackTarget("cpu50", "AlarmLow", AlarmLow, true, 10); !ok {
						t.Fatalf("%s: no scale-in %s after the launch, at the end of the warm-up", c.name, c.freeAt)
					}
				}
			},
		},
		{
			"Simple scaling: one cooldown for the group, starting when the activity completes (after EC2's pending time and the launch hooks)",
			"https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-scaling-cooldowns.html (the cooldown starts when the last instance finishes launching; with a lifecycle hook, after the action completes; behind a load balancer, after draining); " +
				"https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html (DefaultCooldown: between one scaling activity ending and another one starting due to simple scaling policies)",
			func(t *testing.T) {
				r, _ := pendingRig(t, func(c *Config) {
					c.Max = 10
					c.Policies = []Policy{
						{Name: "simple-a", Type: "SimpleScaling", AdjustmentType: ChangeInCapacity, Adjustment: 1, Cooldown: 60 * time.Second},
						{Name: "simple-b", Type: "SimpleScaling", AdjustmentType: ChangeInCapacity, Adjustment: 1},
					}
					c.LifecycleHooks = []LifecycleHook{{Name: "bootstrap", Transition: LaunchingTransition, HeartbeatTimeout: 120 * time.Second, DefaultResult: Continue}}
				})
				r.g.Reconcile(ctx)
				waitFor(t, "the first pending timers", func() bool { return r.clock.Waiters() >= 2 })
				r.clock.Advance(16 * time.Second)
				waitFor(t, "the hooks' timers", func() bool { return r.ev.lifecycles("Pending:Wait") == 2 && r.clock.Waiters() >= 2 })
				r.clock.Advance(120 * time.Second)
				waitFor(t, "the first two InService", func() bool { return r.states()[InService] == 2 })
				if _, ok := r.g.ExecutePolicy("simple-a", "high", 90); !ok {
					t.Fatal("simple-a did not act")
				}
				r.g.Reconcile(ctx) // launches the third: pending 16 s, then the hook 120 s
				waitFor(t, "the third's pending timer", func() bool { return r.clock.Waiters() >= 1 })
				start := r.clock.Now()
				r.clock.Advance(16 * time.Second)
				waitFor(t, "the third in its hook", func() bool { return r.ev.lifecycles("Pending:Wait") == 3 && r.clock.Waiters() >= 1 })
				r.clock.Advance(80 * time.Second) // 96 s after the decision: past a 60 s cooldown counted from the start
				if _, ok := r.g.ExecutePolicy("simple-a", "high", 90); ok {
					t.Fatal("simple-a acted while its activity was still in progress (launch hook)")
				}
				r.clock.Advance(40 * time.Second) // the hook times out: InService 136 s after the decision
				waitFor(t, "the third InService", func() bool { return r.states()[InService] == 3 })
				r.clock.Advance(59 * time.Second)
				if _, ok := r.g.ExecutePolicy("simple-b", "high", 90); ok {
					t.Fatal("simple-b acted inside simple-a's cooldown: the cooldown is the group's")
				}
				r.clock.Advance(time.Second)
				if d, ok := r.g.ExecutePolicy("simple-b", "high", 90); !ok || d != 4 {
					t.Fatalf("simple-b: %d (%v) 60 s after the activity completed (%s after the decision), want 4", d, ok, r.clock.Now().Sub(start))
				}
			},
		},
		{
			"While scaling in, terminating (draining) instances count as capacity: a breach in the same step removes nothing more",
			"https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html and as-scaling-target-tracking.html (while scaling in, instances that are terminating count as part of the current capacity of the group, so no more instances are removed than necessary)",
			func(t *testing.T) {
				for _, tracking := range []bool{false, true} {
					var tg *drainingTargets
					r := newRig(t, func(c *Config) {
						c.DefaultInstanceWarmup, c.Desired = dur(0), 4
						tg = &drainingTargets{fakeTargets: c.Targets.(*fakeTargets)}
						c.Targets = tg
						if tracking {
							c.Policies = []Policy{{Name: "cpu50", Type: TargetTrackingScaling, TargetValue: 50}}
						}
					})
					r.g.Reconcile(ctx)
					r.clock.Advance(time.Minute)
					scaleIn := func() (int, bool) {
						if tracking {
							return r.g.TrackTarget("cpu50", "AlarmLow", AlarmLow, true, 30) // ceil(4 x 30/50) = 3
						}
						return r.g.ExecutePolicy("cpu-low", "low", 5) // -1
					}
					if d, ok := scaleIn(); !ok || d != 3 {
						t.Fatalf("tracking %v: first scale-in to %d (%v), want 3", tracking, d, ok)
					}
					r.g.Reconcile(ctx) // one instance deregistered, draining
					waitFor(t, "the deregistration", func() bool { return tg.draining() == 1 })
					r.clock.Advance(time.Minute)
					if d, ok := scaleIn(); ok {
						t.Fatalf("tracking %v: scaled in again to %d while the first drains", tracking, d)
					}
					tg.release()
					r.settle(t)
					if d, ok := scaleIn(); !ok || d != 2 {
						t.Fatalf("tracking %v: after the drain, scale-in to %d (%v), want 2", tracking, d, ok)
					}
				}
			},
		},
		{
			"ELB-unhealthy replacement: the next one waits for the new instance's first health check and its warm-up",
			"https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html (how Amazon EC2 Auto Scaling minimizes downtime: at most 10% of desired at a time, waiting for the new instances to pass health checks and warm up)",
			func(t *testing.T) {
				r := newRig(t, func(c *Config) { c.Policies = nil }) // desired 2: one at a time; warm-up 60 s
				r.g.Reconcile(ctx)
				r.clock.Advance(time.Hour)
				for _, in := range r.g.Instances() {
					r.tg.set(in.ID, "unhealthy")
				}
				r.g.Reconcile(ctx)
				r.settle(t)
				if got := r.ev.activities("Terminate"); got != 1 {
					t.Fatalf("%d replaced at once, want 1", got)
				}
				r.clock.Advance(50 * time.Second) // the replacement is healthy at once, warm at 60 s
				r.g.Reconcile(ctx)
				if got := r.ev.activities("Terminate"); got != 1 {
					t.Fatalf("the next replacement started while the first new instance warms up (%d terminated)", got)
				}
				r.clock.Advance(10 * time.Second)
				r.g.Reconcile(ctx)
				r.settle(t)
				if got := r.ev.activities("Terminate"); got != 2 {
					t.Fatalf("%d terminated after the warm-up, want 2", got)
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
