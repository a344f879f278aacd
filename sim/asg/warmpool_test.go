package asg

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/az"
)

// warmFleet is the fake fleet with EC2's stop and start, and a first boot
// (boot) and a restart (restart) that take time on the fake clock: an
// instance is initialised, and its workload up, boot after its launch and
// restart after each start.
type warmFleet struct {
	*fakeFleet
	clock         *clock.Fake
	boot, restart time.Duration

	wmu     sync.Mutex
	readyAt map[az.InstanceID]time.Time
	stops   []az.InstanceID
	starts  []az.InstanceID
}

func newWarmFleet(boot, restart time.Duration) *warmFleet {
	return &warmFleet{fakeFleet: &fakeFleet{running: map[az.InstanceID]bool{}}, boot: boot, restart: restart,
		readyAt: map[az.InstanceID]time.Time{}}
}

func (w *warmFleet) Launch(ctx context.Context, zone string, version int) (az.InstanceID, netip.AddrPort, error) {
	id, addr, err := w.fakeFleet.Launch(ctx, zone, version)
	w.wmu.Lock()
	w.readyAt[id] = w.clock.Now().Add(w.boot)
	w.wmu.Unlock()
	return id, addr, err
}

func (w *warmFleet) Stop(_ context.Context, id az.InstanceID) error {
	w.kill(id)
	w.wmu.Lock()
	w.stops = append(w.stops, id)
	w.wmu.Unlock()
	return nil
}

func (w *warmFleet) Start(_ context.Context, id az.InstanceID) error {
	w.mu.Lock()
	w.running[id] = true
	w.mu.Unlock()
	w.wmu.Lock()
	w.starts = append(w.starts, id)
	w.readyAt[id] = w.clock.Now().Add(w.restart)
	w.wmu.Unlock()
	return nil
}

func (w *warmFleet) Initialised(id az.InstanceID) bool { return w.up(id) }

// up says whether the instance's workload answers now.
func (w *warmFleet) up(id az.InstanceID) bool {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	at, ok := w.readyAt[id]
	return ok && !w.clock.Now().Before(at)
}

func (w *warmFleet) counts() (stops, starts int) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return len(w.stops), len(w.starts)
}

func newWarmRig(t *testing.T, wp WarmPool, mut func(*Config)) (*rig, *warmFleet) {
	t.Helper()
	wf := newWarmFleet(0, 0)
	r := newRig(t, func(c *Config) {
		c.WarmPool, c.Fleet, c.Policies = &wp, wf, nil
		if mut != nil {
			mut(c)
		}
	})
	r.fleet, wf.clock = wf.fakeFleet, r.clock
	return r, wf
}

// until reconciles the group until cond holds: a pool instance rests on
// the pass after the one that found it initialised.
func (r *rig) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	defer func() {
		if t.Failed() {
			r.ev.mu.Lock()
			for _, e := range r.ev.evs {
				t.Log(e.Message())
			}
			r.ev.mu.Unlock()
		}
	}()
	waitFor(t, what, func() bool {
		r.g.Reconcile(context.Background())
		return cond()
	})
}

// pool is the warm pool's instances by lifecycle state.
func (r *rig) pool() map[string]int {
	out := map[string]int{}
	for _, in := range r.g.WarmPoolInstances() {
		out[in.State]++
	}
	return out
}

func (r *recorder) warmActivities(destination string) []WarmPoolActivity {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []WarmPoolActivity
	for _, e := range r.evs {
		if a, ok := e.(WarmPoolActivity); ok && a.Destination == destination {
			out = append(out, a)
		}
	}
	return out
}

// path is the lifecycle states one instance went through, in order.
func (r *recorder) path(id az.InstanceID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if l, ok := e.(LifecycleChanged); ok && l.Instance == string(id) {
			out = append(out, l.To)
		}
	}
	return out
}

func (r *recorder) launchDescriptions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if a, ok := e.(ScalingActivity); ok && a.Action == "Launch" {
			out = append(out, a.Description)
		}
	}
	return out
}

// TestWarmPoolFidelity checks, one row per documented warm pool behaviour,
// that the group does what AWS documents (aws-behaviour.md 2.10).
func TestWarmPoolFidelity(t *testing.T) {
	ctx := context.Background()
	const (
		pools     = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html"
		lifecycle = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html"
		api       = "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html"
	)
	rows := []struct {
		behaviour string
		cite      string
		check     func(t *testing.T)
	}{
		{
			"The pool's size is the max size (or MaxGroupPreparedCapacity) less desired, at least MinSize; pool instances are not capacity",
			pools + " Warm pool size: max 10, desired 6 gives 4; max prepared capacity 8 gives 2; " + api + " desired above MaxGroupPreparedCapacity gives 0 unless MinSize",
			func(t *testing.T) {
				for _, c := range []struct {
					w                    WarmPool
					maxSize, desired, is int
				}{
					{WarmPool{MaxGroupPreparedCapacity: -1}, 10, 6, 4},
					{WarmPool{MaxGroupPreparedCapacity: 8}, 10, 6, 2},
					{WarmPool{MaxGroupPreparedCapacity: 5}, 10, 6, 0},
					{WarmPool{MaxGroupPreparedCapacity: 5, MinSize: 2}, 10, 6, 2},
				} {
					if got := c.w.Size(c.maxSize, c.desired); got != c.is {
						t.Errorf("%+v max %d desired %d: %d, want %d", c.w, c.maxSize, c.desired, got, c.is)
					}
				}
				r, _ := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: -1}, nil) // max 6, desired 2
				r.g.Reconcile(ctx)
				if n := len(r.g.WarmPoolInstances()); n != 4 {
					t.Fatalf("%d instances in the pool, want 6 - 2 = 4", n)
				}
				if got := r.zones(); got["us-east-1a"]+got["us-east-1b"]+got["us-east-1c"] != 2 || len(r.ev.launchDescriptions()) != 2 {
					t.Fatalf("in service %v, group launches %d: the pool's instances must not count", got, len(r.ev.launchDescriptions()))
				}
				if n := len(r.ev.warmActivities("WarmPool")); n != 4 {
					t.Fatalf("%d launches into the warm pool", n)
				}
			},
		},
		{
			"A pool instance is initialised once: Warmed:Pending (launch hooks at Warmed:Pending:Wait), then stopped to Warmed:Stopped; its warm start waits on the hooks again at Pending:Wait",
			lifecycle + " lifecycle state transitions; " + pools + " pool state Stopped (default)",
			func(t *testing.T) {
				r, wf := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: 3}, func(c *Config) { // desired 2: a pool of 1
					c.LifecycleHooks = []LifecycleHook{{Name: "bootstrap", Transition: LaunchingTransition, DefaultResult: Continue}}
				})
				wf.boot = 90 * time.Second
				r.g.Reconcile(ctx)
				var id az.InstanceID
				waitFor(t, "the pool instance to wait on its hook", func() bool {
					ins := r.g.WarmPoolInstances()
					if len(ins) == 1 {
						id = ins[0].ID
					}
					return id != "" && r.g.CompleteLifecycleAction("bootstrap", id, Continue) == nil
				})
				waitFor(t, "the hook to finish", func() bool { return slices.Contains(r.ev.path(id), "Warmed:Pending:Proceed") })
				r.clock.Advance(60 * time.Second)
				r.g.Reconcile(ctx)
				if got := r.pool(); got[WarmedPending] != 1 {
					t.Fatalf("pool %v before its initialisation ended (boot 90 s, 60 s in): want it still Warmed:Pending", got)
				}
				r.clock.Advance(30 * time.Second)
				r.g.Reconcile(ctx)
				waitFor(t, "Warmed:Stopped", func() bool { return r.pool()[WarmedStopped] == 1 })
				want := []string{WarmedPending, "Warmed:Pending:Wait", "Warmed:Pending:Proceed", WarmedStopped}
				if got := r.ev.path(id); !slices.Equal(got, want) {
					t.Fatalf("lifecycle %v, want %v", got, want)
				}
				if stops, _ := wf.counts(); stops != 1 || wf.Running(id) {
					t.Fatalf("%d stops; running %v: a Warmed:Stopped instance is a stopped instance", stops, wf.Running(id))
				}
				// The warm start pauses on the hook a second time, at Pending:Wait.
				if err := r.g.SetDesired(3); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				waitFor(t, "the warm start to wait on its hook", func() bool {
					return r.g.CompleteLifecycleAction("bootstrap", id, Continue) == nil
				})
				waitFor(t, "InService", func() bool { p := r.ev.path(id); return p[len(p)-1] == InService })
				want = append(want, Pending, "Pending:Wait", "Pending:Proceed", InService)
				if got := r.ev.path(id); !slices.Equal(got, want) {
					t.Fatalf("lifecycle %v, want %v", got, want)
				}
			},
		},
		{
			"Scale-out starts a pool instance first (Warmed:Stopped -> Pending -> InService); the pool then refills",
			pools + " warm start: instances leaving the pool count toward desired; " + lifecycle + " launch hooks pause twice",
			func(t *testing.T) {
				r, wf := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: -1, MinSize: 2}, func(c *Config) { c.Max = 4 }) // size max(2, 4-2) = 2
				r.g.Reconcile(ctx)
				r.g.Reconcile(ctx)
				r.until(t, "two stopped", func() bool { return r.pool()[WarmedStopped] == 2 })
				launched := len(wf.ended) + len(wf.running)
				if err := r.g.SetDesired(3); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				descs := r.ev.launchDescriptions()
				if last := descs[len(descs)-1]; !strings.HasPrefix(last, "Launching a new EC2 instance from warm pool: ") {
					t.Fatalf("scale-out activity %q: want a start from the warm pool", last)
				}
				id := az.InstanceID(strings.TrimPrefix(descs[len(descs)-1], "Launching a new EC2 instance from warm pool: "))
				if got, want := r.ev.path(id), []string{WarmedPending, WarmedStopped, Pending, InService}; !slices.Equal(got, want) {
					t.Fatalf("lifecycle %v, want %v", got, want)
				}
				if _, starts := wf.counts(); starts != 1 || !wf.Running(id) || r.tg.State(id) != "healthy" {
					t.Fatalf("starts %d, running %v, target %q", starts, wf.Running(id), r.tg.State(id))
				}
				r.until(t, "the refill", func() bool { return r.pool()[WarmedStopped] == 2 })
				if n := len(wf.running) + len(wf.ended) - launched; n != 1 {
					t.Fatalf("%d new EC2 instances, want 1 (the refill; the scale-out came from the pool)", n)
				}
			},
		},
		{
			"A depleted pool means a cold start",
			pools + " Limitations: if your warm pool is depleted when there is a scale-out event, instances launch directly into the group (a cold start)",
			func(t *testing.T) {
				r, _ := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: 3}, nil) // desired 2: a pool of 1
				r.g.Reconcile(ctx)
				r.until(t, "one stopped", func() bool { return r.pool()[WarmedStopped] == 1 })
				if err := r.g.SetDesired(4); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				descs := r.ev.launchDescriptions()[2:]
				if len(descs) != 2 || !strings.HasPrefix(descs[0], "Launching a new EC2 instance from warm pool") || !strings.HasPrefix(descs[1], "Launching a new EC2 instance: ") {
					t.Fatalf("scale-out launches %q: want one from the pool, then one cold", descs)
				}
				if n := len(r.g.WarmPoolInstances()); n != 0 {
					t.Fatalf("pool of %d at desired 4 > max prepared 3, want 0", n)
				}
			},
		},
		{
			"With reuse_on_scale_in, scale-in returns the instance to the pool (deregistered, stopped) instead of terminating it",
			api + " InstanceReusePolicy.ReuseOnScaleIn; " + lifecycle + " instances returning to the pool wait at Warmed:Pending:Wait",
			func(t *testing.T) {
				r, wf := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: -1, ReuseOnScaleIn: true}, func(c *Config) { c.Max, c.Desired = 3, 3 })
				r.g.Reconcile(ctx) // a pool of 0
				if err := r.g.SetDesired(2); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				r.until(t, "one back in the pool", func() bool { return r.pool()[WarmedStopped] == 1 })
				id := r.g.WarmPoolInstances()[0].ID
				if got, want := r.ev.path(id), []string{Pending, InService, WarmedPending, WarmedStopped}; !slices.Equal(got, want) {
					t.Fatalf("lifecycle %v, want %v", got, want)
				}
				if slices.Contains(wf.ended, id) || r.tg.State(id) != "draining" || r.ev.activities("Terminate") != 0 {
					t.Fatalf("ended %v, target %q, terminations %d: want it kept, deregistered", wf.ended, r.tg.State(id), r.ev.activities("Terminate"))
				}
				if err := r.g.SetDesired(3); err != nil { // and it comes back warm
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				if got := r.ev.path(id); got[len(got)-1] != InService {
					t.Fatalf("lifecycle %v: want it back in service", got)
				}
			},
		},
		{
			"Without a reuse policy scale-in terminates; the pool grows back to its size",
			api + " InstanceReusePolicy: the default is to terminate instances when the group scales in",
			func(t *testing.T) {
				r, wf := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: -1}, func(c *Config) { c.Max, c.Desired = 3, 3 })
				r.g.Reconcile(ctx)
				if err := r.g.SetDesired(2); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				r.settle(t)
				if r.ev.activities("Terminate") != 1 || len(wf.ended) != 1 {
					t.Fatalf("terminations %d ended %v", r.ev.activities("Terminate"), wf.ended)
				}
				r.until(t, "a new pool instance", func() bool { return r.pool()[WarmedStopped] == 1 })
			},
		},
		{
			"Pool state Running keeps instances running but not registered (Warmed:Running); they join without a start",
			api + " PoolState Stopped | Running | Hibernated; " + lifecycle + " Warmed:Running",
			func(t *testing.T) {
				r, wf := newWarmRig(t, WarmPool{PoolState: PoolRunning, MaxGroupPreparedCapacity: 3}, nil)
				r.g.Reconcile(ctx)
				r.g.Reconcile(ctx)
				r.until(t, "Warmed:Running", func() bool { return r.pool()[WarmedRunning] == 1 })
				id := r.g.WarmPoolInstances()[0].ID
				if stops, _ := wf.counts(); stops != 0 || !wf.Running(id) || r.tg.State(id) != "" {
					t.Fatalf("stops %d running %v target %q", stops, wf.Running(id), r.tg.State(id))
				}
				if err := r.g.SetDesired(3); err != nil {
					t.Fatal(err)
				}
				r.g.Reconcile(ctx)
				if _, starts := wf.counts(); starts != 0 || r.tg.State(id) != "healthy" {
					t.Fatalf("starts %d target %q", starts, r.tg.State(id))
				}
			},
		},
		{
			"An instance refresh launches new instances, not the pool's old ones, and replaces the pool after the group",
			pools + " Update the instances in a warm pool: new instances use the new launch template; an instance refresh replaces InService instances first, then the warm pool's",
			func(t *testing.T) {
				r, _ := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: 3}, nil) // desired 2: a pool of 1
				r.g.Reconcile(ctx)
				r.until(t, "one stopped", func() bool { return r.pool()[WarmedStopped] == 1 })
				old := r.g.WarmPoolInstances()[0].ID
				if _, err := r.g.StartInstanceRefresh(2, RefreshPreferences{}); err != nil {
					t.Fatal(err)
				}
				for range 100 {
					r.clock.Advance(30 * time.Second)
					r.g.Reconcile(ctx)
					r.settle(t)
					if ref, _ := r.g.InstanceRefresh(); ref.Done() {
						break
					}
				}
				if ref, _ := r.g.InstanceRefresh(); ref.Status != RefreshSuccessful {
					t.Fatalf("refresh %s: %s", ref.Status, ref.StatusReason)
				}
				if slices.Contains(r.ev.path(old), Pending) {
					t.Fatalf("the pool's version-1 instance %s was started into the group during the refresh to version 2: %v", old, r.ev.path(old))
				}
				r.until(t, "the pool on version 2", func() bool {
					ins := r.g.WarmPoolInstances()
					return len(ins) == 1 && ins[0].Template == 2 && ins[0].State == WarmedStopped
				})
				if got := r.ev.path(old); got[len(got)-1] != WarmedTerminated {
					t.Fatalf("old pool instance: %v, want it terminated", got)
				}
			},
		},
		{
			"Closing the group ends the pool's instances through Warmed:Terminating to Warmed:Terminated",
			lifecycle + " Warmed:Terminating, Warmed:Terminated",
			func(t *testing.T) {
				r, wf := newWarmRig(t, WarmPool{MaxGroupPreparedCapacity: 3}, nil)
				r.g.Reconcile(ctx)
				r.until(t, "one stopped", func() bool { return r.pool()[WarmedStopped] == 1 })
				id := r.g.WarmPoolInstances()[0].ID
				r.g.Close(ctx)
				if got := r.ev.path(id); got[len(got)-1] != WarmedTerminated || !slices.Contains(wf.ended, id) {
					t.Fatalf("lifecycle %v ended %v", got, wf.ended)
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

// timedTargets is a target group whose health check (every interval from
// registration, one pass needed, aws-behaviour.md 1.1) passes once the
// instance's workload answers.
type timedTargets struct {
	clock    *clock.Fake
	fleet    *warmFleet
	interval time.Duration

	mu  sync.Mutex
	reg map[az.InstanceID]time.Time
	ok  map[az.InstanceID]bool
}

func (t *timedTargets) Register(id az.InstanceID, _ string, _ netip.AddrPort) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reg[id], t.ok[id] = t.clock.Now(), false
	return nil
}

func (t *timedTargets) Deregister(id az.InstanceID) (<-chan struct{}, error) {
	t.mu.Lock()
	delete(t.reg, id)
	t.mu.Unlock()
	c := make(chan struct{})
	close(c)
	return c, nil
}

// check runs the health checks due by now; the test calls it each second.
func (t *timedTargets) check() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	for id, at := range t.reg {
		if since := now.Sub(at); since > 0 && since%t.interval == 0 && t.fleet.up(id) {
			t.ok[id] = true
		}
	}
}

func (t *timedTargets) State(id az.InstanceID) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch _, reg := t.reg[id]; {
	case !reg:
		return ""
	case t.ok[id]:
		return "healthy"
	}
	return "initial"
}

// scaleOutTime is how long (AWS time) the group takes from a scale-out
// decision (desired 1 -> 2) to the new instance passing its first health
// check, with or without a warm pool.
func scaleOutTime(t *testing.T, pool *WarmPool, boot, restart, pending time.Duration) time.Duration {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	wf := newWarmFleet(boot, restart)
	wf.clock = clk
	rec := &recorder{}
	tg := &timedTargets{clock: clk, fleet: wf, interval: 30 * time.Second, reg: map[az.InstanceID]time.Time{}, ok: map[az.InstanceID]bool{}}
	g, err := New(Config{Name: "web", Zones: []string{"us-east-1a", "us-east-1b"}, Min: 1, Max: 3, Desired: 1,
		HealthCheckType: "EC2", HealthCheckGracePeriod: 300 * time.Second, DefaultCooldown: 300 * time.Second, WarmPool: pool,
		PendingTime: pending, Clock: clk, Fleet: wf, Targets: tg, Events: rec, Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(ctx)
	step := func() {
		clk.Advance(time.Second)
		tg.check()
		g.Reconcile(ctx)
	}
	g.Reconcile(ctx)
	for range 2 * boot / time.Second { // the group's first instance and the pool initialise
		step()
	}
	if pool != nil {
		waitFor(t, "the pool to rest", func() bool {
			step() // the pool's launches run on goroutines of their own: keep the group going
			ins := g.WarmPoolInstances()

			return len(ins) > 0 && ins[0].State == WarmedStopped
		})
	}
	before := map[az.InstanceID]bool{}
	for _, in := range g.Instances() {
		before[in.ID] = true
	}
	start := clk.Now()
	if err := g.SetDesired(2); err != nil {
		t.Fatal(err)
	}
	g.Reconcile(ctx)
	for range 600 {
		for _, in := range g.Instances() {
			if !before[in.ID] && in.State == InService && tg.State(in.ID) == "healthy" {
				return clk.Now().Sub(start)
			}
		}
		step()
	}
	t.Fatal("the new instance never passed a health check")
	return 0
}

// TestWarmStartIsFasterThanColdLaunch measures the scale-out on the fake
// clock: a cold launch waits for the whole first boot (90 s, the lab's
// figure for an AMI whose user data installs and starts the application), a
// warm start only for the restart of an instance already initialised (15 s),
// each then for its first passing health check (every 30 s).
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
func TestWarmStartIsFasterThanColdLaunch(t *testing.T) {
	const boot, restart = 90 * time.Second, 15 * time.Second
	cold := scaleOutTime(t, nil, boot, restart, 0)
	warm := scaleOutTime(t, &WarmPool{PoolState: PoolStopped, MaxGroupPreparedCapacity: -1}, boot, restart, 0)
	t.Logf("scale-out to a passing health check: cold launch %s, warm start from a Stopped pool %s (AWS time)", cold, warm)
	if cold != 90*time.Second || warm != 30*time.Second {
		t.Fatalf("cold %s, warm %s: want 90s (boot, at the third check) and 30s (restart, at the first check)", cold, warm)
	}
}

// Starting a stopped instance from the pool is EC2's pending state too
// (StartInstances: pending, then running;
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html):
// the warm start waits the pending time before the instance is started.
func TestWarmStartWaitsEC2sPendingTime(t *testing.T) {
	const pending = 16 * time.Second
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	wf := newWarmFleet(30*time.Second, 5*time.Second)
	wf.clock = clk
	tg := &timedTargets{clock: clk, fleet: wf, interval: 30 * time.Second, reg: map[az.InstanceID]time.Time{}, ok: map[az.InstanceID]bool{}}
	g, err := New(Config{Name: "web", Zones: []string{"us-east-1a", "us-east-1b"}, Min: 1, Max: 3, Desired: 1,
		HealthCheckType: "EC2", DefaultCooldown: 300 * time.Second, WarmPool: &WarmPool{PoolState: PoolStopped, MaxGroupPreparedCapacity: -1},
		PendingTime: pending, Clock: clk, Fleet: wf, Targets: tg, Events: &recorder{}, Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(ctx)
	g.Reconcile(ctx)
	waitFor(t, "the pool to rest", func() bool {
		clk.Advance(time.Second)
		tg.check()
		g.Reconcile(ctx)
		ins := g.WarmPoolInstances()
		return len(ins) == 2 && ins[0].State == WarmedStopped && ins[1].State == WarmedStopped
	})
	_, starts := wf.counts()
	if err := g.SetDesired(2); err != nil {
		t.Fatal(err)
	}
	g.Reconcile(ctx)
	at := clk.Now()
	for range pending/time.Second - 1 {
		clk.Advance(time.Second)
		if _, n := wf.counts(); n != starts {
			t.Fatalf("the pool's instance was started %v after the scale-out, before EC2's %v pending time", clk.Now().Sub(at), pending)
		}
	}
	clk.Advance(time.Second)
	waitFor(t, "the warm start once the pending time is over", func() bool {
		_, n := wf.counts()
		return n == starts+1
	})
}
