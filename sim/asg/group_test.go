package asg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/az"
)

// fakeFleet and fakeTargets stand in for the runtime and the load balancer.
type fakeFleet struct {
	mu       sync.Mutex
	n        int
	running  map[az.InstanceID]bool
	ended    []az.InstanceID
	versions map[az.InstanceID]int
	order    []string // "launch i-01" and "terminate i-01", in the order they happened
	cpu      float64  // every instance's CPU; 0 reads as 50
}

func (f *fakeFleet) Launch(_ context.Context, zone string, version int) (az.InstanceID, netip.AddrPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := az.InstanceID(fmt.Sprintf("i-%02d", f.n))
	f.running[id] = true
	if f.versions == nil {
		f.versions = map[az.InstanceID]int{}
	}
	f.versions[id] = version
	f.order = append(f.order, "launch "+string(id))
	return id, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(9 + f.n)}), 8080), nil
}

func (f *fakeFleet) Terminate(_ context.Context, id az.InstanceID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[id] = false
	f.ended = append(f.ended, id)
	f.order = append(f.order, "terminate "+string(id))
	return nil
}

func (f *fakeFleet) Running(id az.InstanceID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[id]
}

func (f *fakeFleet) CPU(context.Context, az.InstanceID) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cpu == 0 {
		return 50, nil
	}
	return f.cpu, nil
}

func (f *fakeFleet) kill(id az.InstanceID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[id] = false
}

type fakeTargets struct {
	mu      sync.Mutex
	state   map[az.InstanceID]string
	initial string // a new target's state; "" means healthy at once
}

func (t *fakeTargets) Register(id az.InstanceID, _ string, _ netip.AddrPort) error {
	t.mu.Lock()
	s := t.initial
	t.mu.Unlock()
	if s == "" {
		s = "healthy"
	}
	t.set(id, s)
	return nil
}

func (t *fakeTargets) Deregister(id az.InstanceID) (<-chan struct{}, error) {
	t.set(id, "draining")
	c := make(chan struct{})
	close(c)
	return c, nil
}

func (t *fakeTargets) State(id az.InstanceID) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state[id]
}

func (t *fakeTargets) set(id az.InstanceID, s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state[id] = s
}

type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) Publish(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

func (r *recorder) activities(action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.evs {
		if a, ok := e.(ScalingActivity); ok && a.Action == action {
			n++
		}
	}
	return n
}

type rig struct {
	g     *Group
	clock *clock.Fake
	fleet *fakeFleet
	tg    *fakeTargets
	ev    *recorder
}

func newRig(t *testing.T, mut func(*Config)) *rig {
	t.Helper()
	warm := 60 * time.Second
	r := &rig{clock: clock.NewFake(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)), fleet: &fakeFleet{running: map[az.InstanceID]bool{}},
		tg: &fakeTargets{state: map[az.InstanceID]string{}}, ev: &recorder{}}
	cfg := Config{
		Name: "simplydone", Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, Min: 1, Max: 6, Desired: 2,
		HealthCheckType: "ELB", HealthCheckGracePeriod: 300 * time.Second, DefaultCooldown: 300 * time.Second,
		DefaultInstanceWarmup: &warm,
		Policies: []Policy{
			{Name: "cpu-high", Type: "StepScaling", AdjustmentType: ChangeInCapacity, Steps: []Step{{Lower: f(0), Adjustment: 1}}, Threshold: 80},
			{Name: "cpu-low", Type: "StepScaling", AdjustmentType: ChangeInCapacity, Steps: []Step{{Upper: f(0), Adjustment: -1}}, Threshold: 10},
			{Name: "simple-out", Type: "SimpleScaling", AdjustmentType: ChangeInCapacity, Adjustment: 2},
		},
		Clock: r.clock, Fleet: r.fleet, Targets: r.tg, Events: r.ev, Rand: rand.New(rand.NewPCG(1, 1)),
	}
	if mut != nil {
		mut(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.g = g
	return r
}

func (r *rig) zones() map[string]int {
	out := map[string]int{}
	for _, in := range r.g.Instances() {
		if in.State == InService {
			out[in.Zone]++
		}
	}
	return out
}

// settle waits for terminations started by the last Reconcile to finish.
func (r *rig) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		busy := false
		for _, in := range r.g.Instances() {
			busy = busy || in.State == Terminating
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("terminations did not finish")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLaunchesBalanceAcrossZones(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Desired = 5 })
	r.g.Reconcile(context.Background())
	z := r.zones()
	if z["us-east-1a"] != 2 || z["us-east-1b"] != 2 || z["us-east-1c"] != 1 {
		t.Fatalf("placement %v", z)
	}
	if r.ev.activities("Launch") != 5 {
		t.Fatalf("%d launch activities", r.ev.activities("Launch"))
	}
}

func TestKilledInstanceIsReplacedEvenInGrace(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.g.Reconcile(ctx)
	victim := r.g.Instances()[0]
	r.fleet.kill(victim.ID)
	r.clock.Advance(10 * time.Second) // well inside the 300 s grace period
	r.g.Reconcile(ctx)
	r.settle(t)
	ins := r.g.Instances()
	if len(ins) != 2 {
		t.Fatalf("%d instances after replacement", len(ins))
	}
	for _, in := range ins {
		if in.ID == victim.ID {
			t.Fatal("the killed instance is still in the group")
		}
	}
	if r.ev.activities("Terminate") != 1 || r.ev.activities("Launch") != 3 {
		t.Fatalf("terminate %d launch %d", r.ev.activities("Terminate"), r.ev.activities("Launch"))
	}
}

func TestELBUnhealthyWaitsForGraceAndTenPercent(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Desired = 4 })
	ctx := context.Background()
	r.g.Reconcile(ctx)
	for _, in := range r.g.Instances() {
		r.tg.set(in.ID, "unhealthy")
	}
	r.clock.Advance(100 * time.Second)
	r.g.Reconcile(ctx)
	if r.ev.activities("Terminate") != 0 {
		t.Fatal("replaced inside the grace period")
	}
	r.clock.Advance(200 * time.Second)
	r.g.Reconcile(ctx)
	r.settle(t)
	if got := r.ev.activities("Terminate"); got != 1 {
		t.Fatalf("%d replaced at once, want 1 (10%% of 4, at least one)", got)
	}
}

func TestStepScalingWaitsForWarmup(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(120 * time.Second) // the first two are warm
	if d, ok := r.g.ExecutePolicy("cpu-high", "AlarmHigh", 86); !ok || d != 3 {
		t.Fatalf("first breach: desired %d changed %v, want 3", d, ok)
	}
	r.g.Reconcile(ctx)
	if d, ok := r.g.ExecutePolicy("cpu-high", "AlarmHigh", 90); ok || d != 3 {
		t.Fatalf("breach during warm-up: desired %d changed %v, want 3 unchanged", d, ok)
	}
	if _, ok := r.g.ExecutePolicy("cpu-low", "AlarmLow", 5); ok {
		t.Fatal("scale-in during warm-up")
	}
	r.clock.Advance(60 * time.Second)
	if d, ok := r.g.ExecutePolicy("cpu-high", "AlarmHigh", 90); !ok || d != 4 {
		t.Fatalf("after warm-up: desired %d, want 4", d)
	}
	r.g.Reconcile(ctx)
	r.clock.Advance(60 * time.Second)
	if d, ok := r.g.ExecutePolicy("cpu-low", "AlarmLow", 5); !ok || d != 3 {
		t.Fatalf("scale-in: desired %d, want 3", d)
	}
	r.g.Reconcile(ctx)
	r.settle(t)
	if n := len(r.g.Instances()); n != 3 {
		t.Fatalf("%d instances after scale-in", n)
	}
}

func TestScalingStaysWithinMinAndMax(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Desired, c.Max = 6, 6 })
	ctx := context.Background()
	r.g.Reconcile(ctx)
	r.clock.Advance(time.Hour)
	if _, ok := r.g.ExecutePolicy("cpu-high", "AlarmHigh", 99); ok {
		t.Fatal("scaled beyond max")
	}
	r2 := newRig(t, func(c *Config) { c.Desired = 1 })
	r2.g.Reconcile(ctx)
	r2.clock.Advance(time.Hour)
	if _, ok := r2.g.ExecutePolicy("cpu-low", "AlarmLow", 1); ok {
		t.Fatal("scaled below min")
	}
}

func TestSimpleScalingWaitsForCooldown(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.g.Reconcile(ctx)
	if d, ok := r.g.ExecutePolicy("simple-out", "AlarmHigh", 90); !ok || d != 4 {
		t.Fatalf("simple: desired %d", d)
	}
	r.g.Reconcile(ctx)
	r.clock.Advance(299 * time.Second)
	if _, ok := r.g.ExecutePolicy("simple-out", "AlarmHigh", 90); ok {
		t.Fatal("acted inside the cooldown")
	}
	r.clock.Advance(time.Second)
	if d, ok := r.g.ExecutePolicy("simple-out", "AlarmHigh", 90); !ok || d != 6 {
		t.Fatalf("after cooldown: desired %d, want 6", d)
	}
}

func TestScaleInKeepsZonesBalanced(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Desired = 4 })
	ctx := context.Background()
	r.g.Reconcile(ctx) // a:2 b:1 c:1
	if err := r.g.SetDesired(3); err != nil {
		t.Fatal(err)
	}
	r.g.Reconcile(ctx)
	r.settle(t)
	z := r.zones()
	if z["us-east-1a"] != 1 || z["us-east-1b"] != 1 || z["us-east-1c"] != 1 {
		t.Fatalf("after scale-in %v", z)
	}
}

func TestCloseTerminatesEverything(t *testing.T) {
	r := newRig(t, nil)
	r.g.Start(context.Background())
	r.g.Close(context.Background())
	r.g.Close(context.Background())
	if n := len(r.g.Instances()); n != 0 {
		t.Fatalf("%d instances after Close", n)
	}
	for id, up := range r.fleet.running {
		if up {
			t.Fatalf("%s still running", id)
		}
	}
}

// zoneBarrierFleet answers a gated reading (CPU, or whether an instance
// runs) only once every zone's first reading has been asked for, or fails
// after a wall-clock deadline: a group that reads one zone after another
// never gets an answer.
type zoneBarrierFleet struct {
	fakeFleet
	zones int
	mu    sync.Mutex
	// gateCPU and gateRunning say which readings wait (arm)
	gateCPU, gateRunning bool
	zoneOf               map[az.InstanceID]string
	arrived              map[string]bool
	all                  chan struct{}
	broken               bool // a reading timed out (arm mends it)
}

// arm gates the given readings from now on, with a fresh barrier.
func (f *zoneBarrierFleet) arm(cpu, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gateCPU, f.gateRunning = cpu, running
	f.arrived, f.all, f.broken = map[string]bool{}, make(chan struct{}), false
}

func (f *zoneBarrierFleet) Launch(ctx context.Context, zone string, version int) (az.InstanceID, netip.AddrPort, error) {
	id, addr, err := f.fakeFleet.Launch(ctx, zone, version)
	f.mu.Lock()
	f.zoneOf[id] = zone
	f.mu.Unlock()
	return id, addr, err
}

// wait is the barrier; false when the other zones were not asked in time.
func (f *zoneBarrierFleet) wait(id az.InstanceID) bool {
	f.mu.Lock()
	z, all := f.zoneOf[id], f.all
	if f.broken { // a reading already timed out: the barrier fails from then on
		f.mu.Unlock()
		return false
	}
	if !f.arrived[z] {
		f.arrived[z] = true
		if len(f.arrived) == f.zones {
			close(f.all)
		}
	}
	f.mu.Unlock()
	select {
	case <-all:
		return true
	case <-time.After(5 * time.Second):
		f.mu.Lock()
		f.broken = true
		f.mu.Unlock()
		return false
	}
}

func (f *zoneBarrierFleet) CPU(ctx context.Context, id az.InstanceID) (float64, error) {
	f.mu.Lock()
	gated := f.gateCPU
	f.mu.Unlock()
	if gated && !f.wait(id) {
		return 0, fmt.Errorf("%s's zone read alone: the other zones were not asked meanwhile", id)
	}
	return 42, nil
}

func (f *zoneBarrierFleet) Running(id az.InstanceID) bool {
	f.mu.Lock()
	gated := f.gateRunning
	f.mu.Unlock()
	if gated && !f.wait(id) {
		return false // no answer in time: as an instance EC2 no longer runs
	}
	return f.fakeFleet.Running(id)
}

func newZoneBarrierGroup(t *testing.T) (*Group, *zoneBarrierFleet, *recordingSink, *clock.Fake) {
	t.Helper()
	zero := time.Duration(0)
	fleet := &zoneBarrierFleet{fakeFleet: fakeFleet{running: map[az.InstanceID]bool{}}, zones: 3, zoneOf: map[az.InstanceID]string{}}
	fleet.arm(false, false)
	sink := &recordingSink{}
	clk := clock.NewFake(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC))
	g, err := New(Config{
		Name: "zones", Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, Min: 6, Max: 6, Desired: 6,
		HealthCheckType: "ELB", HealthCheckGracePeriod: 300 * time.Second, DefaultInstanceWarmup: &zero,
		Clock: clk, Fleet: fleet, Targets: &fakeTargets{state: map[az.InstanceID]string{}},
		CPU: sink, Events: &recorder{}, Rand: rand.New(rand.NewPCG(1, 1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Reconcile(context.Background())
	if got := len(g.Instances()); got != 6 {
		t.Fatalf("%d instances in service, want 6", got)
	}
	return g, fleet, sink, clk
}

// A CPU sample reads the zones at once: a zone on a slow or lost host (a
// lab agent) delays its own readings, not the other zones'.
func TestSampleCPUReadsZonesAtOnce(t *testing.T) {
	g, fleet, sink, _ := newZoneBarrierGroup(t)
	fleet.arm(true, false)
	g.sampleCPU(context.Background())
	if in, out := sink.counts(); in+out != 6 {
		t.Errorf("%d of 6 instances' CPU reached the sink: the zones were read one after another", in+out)
	}
}

// The health check asks whether each instance runs zone by zone at once,
// as the CPU sample does.
func TestHealthCheckAsksZonesAtOnce(t *testing.T) {
	g, fleet, _, clk := newZoneBarrierGroup(t)
	clk.Advance(301 * time.Second) // past the grace period: a stopped instance would be replaced
	fleet.arm(false, true)
	g.checkHealth(context.Background())
	fleet.arm(false, false)
	for _, in := range g.Instances() {
		if in.State != InService {
			t.Errorf("%s is %s (%s): it was found not running, the zones asked one after another", in.ID, in.State, in.Health)
		}
	}
}
