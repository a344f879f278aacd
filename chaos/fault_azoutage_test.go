package chaos

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// The tests in this file follow FIS's AZ Availability: Power Interruption
// scenario, https://docs.aws.amazon.com/fis/latest/userguide/az-availability-scenario.html
// (the actions Stop-Instances and Stop-ASG-Instances, Pause-ASG-Scaling,
// Pause-network-connectivity with duration PT2M; nothing on the load
// balancer), and the actions reference,
// https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html
// (aws:network:disrupt-connectivity: a network ACL that denies the traffic,
// so packets are dropped and callers time out).

// deafCapacity is a group that takes the impairment but does not report it.
type deafCapacity struct{ *fakeCapacity }

func (deafCapacity) ZoneImpaired(string) bool { return false }

// refusingCapacity is a group whose zone cannot be impaired.
type refusingCapacity struct{ *fakeCapacity }

func (refusingCapacity) ImpairZone(string) (func(), error) { return nil, errRefused }

// outageHooks are every hook az-outage uses, on one fleet's log.
func outageHooks(f *fakeFleet) hooks {
	return hooks{clock: clock.NewFake(time.Unix(0, 0)), target: f, lb: newFakeLB(f),
		capacity: &fakeCapacity{f: f, impaired: map[string]bool{}}, nodes: &fakeNodes{f: f, down: map[string]bool{}}}
}

const (
	cutOff        = "lb inject chaos #1 zone=a percent=100 status=0 latency=0s jitter=0s"
	cutOffEnds    = "progress: a's subnets take packets again (the outage ended); 7 request(s) timed out into them"
	outageRecover = "a takes launches again; 2 instance(s) started, 0 already replaced by the group"
)

// TestAZOutageFault takes the whole compound through apply, verify and
// revert: FIS's parts by default, the node only with lb_node: down.
func TestAZOutageFault(t *testing.T) {
	outage := func(change func(h *hooks, f *fakeFleet), hole time.Duration, nodeDown bool) func() (fault, *fakeFleet) {
		return func() (fault, *fakeFleet) {
			f := newFleet()
			h := outageHooks(f)
			if change != nil {
				change(&h, f)
			}
			return newAZOutage(h, "a", []string{"i-a1", "i-a2"}, hole, nodeDown), f
		}
	}
	const up, down = false, true
	checkFaults(t, []faultCase{
		{name: "FIS (az-availability-scenario): launches fail, subnets cut off, instances stop; the node stays up; reverted in reverse order",
			make:    outage(nil, FISBlackhole, up),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover,
			log: []string{"impair a", cutOff, "stop i-a1", "stop i-a2",
				"start i-a1", "start i-a2", "lb remove chaos #1", cutOffEnds, "restore a"}},
		{name: "lb_node: down (harsher than FIS): the node goes down after the subnets, back before them",
			make:    outage(nil, FISBlackhole, down),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover,
			log: []string{"impair a", cutOff, "node down a", "stop i-a1", "stop i-a2",
				"start i-a1", "start i-a2", "node up a", "lb remove chaos #1", cutOffEnds, "restore a"}},
		{name: "no blackhole time: no blackhole", make: outage(nil, 0, up),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover,
			log: []string{"impair a", "stop i-a1", "stop i-a2", "start i-a1", "start i-a2", "restore a"}},
		{name: "node up: node control is not needed",
			make:    outage(func(h *hooks, _ *fakeFleet) { h.nodes = nil }, FISBlackhole, up),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover,
			log: []string{"impair a", cutOff, "stop i-a1", "stop i-a2",
				"start i-a1", "start i-a2", "lb remove chaos #1", cutOffEnds, "restore a"}},
		{name: "lb_node: down without the load balancer's hook and node control: the rest goes on",
			make:    outage(func(h *hooks, _ *fakeFleet) { h.lb, h.nodes = nil, nil }, FISBlackhole, down),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover, partial: true,
			verify: "the subnets are not cut off: this lab has no load balancer fault hook; the zone's load-balancer node stays up: load balancer node control not available",
			log:    []string{"impair a", "stop i-a1", "stop i-a2", "start i-a1", "start i-a2", "restore a"}},
		{name: "lb_node: down, the blackhole and the node refused: the rest goes on",
			make:    outage(func(h *hooks, f *fakeFleet) { h.lb, h.nodes = refusingLB{newFakeLB(f)}, refusingNodes{} }, FISBlackhole, down),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover, partial: true,
			verify: "the subnets are not cut off: refused; the zone's load-balancer node stays up: refused",
			log:    []string{"impair a", "stop i-a1", "stop i-a2", "start i-a1", "start i-a2", "restore a"}},
		{name: "the group does not report the zone impaired: every part reverted",
			make: outage(func(h *hooks, f *fakeFleet) {
				h.capacity = deafCapacity{&fakeCapacity{f: f, impaired: map[string]bool{}}}
			}, FISBlackhole, up),
			holding: []string{"i-a1", "i-a2"}, note: outageRecover, verify: "the group does not report a impaired",
			log: []string{"impair a", cutOff, "stop i-a1", "stop i-a2",
				"start i-a1", "start i-a2", "lb remove chaos #1", cutOffEnds, "restore a"}},
		{name: "no instance stops: the parts before are reverted",
			make:   outage(func(h *hooks, f *fakeFleet) { h.target = refusing{f, "stop"} }, FISBlackhole, down),
			verify: "stop i-a1: refused\nstop i-a2: refused", note: "a takes launches again; 0 instance(s) started, 0 already replaced by the group",
			log: []string{"impair a", cutOff, "node down a", "node up a", "lb remove chaos #1", cutOffEnds, "restore a"}},
		{name: "launches cannot be impaired: nothing else is done",
			make:  outage(func(h *hooks, f *fakeFleet) { h.capacity = refusingCapacity{&fakeCapacity{f: f}} }, FISBlackhole, up),
			apply: "impair a: refused", acted: true},
	})
}

// TestAZOutageParts takes each part on its own through the runner's steps.
func TestAZOutageParts(t *testing.T) {
	fleet := func(mk func(h hooks, f *fakeFleet) fault) func() (fault, *fakeFleet) {
		return func() (fault, *fakeFleet) {
			f := newFleet()
			return mk(outageHooks(f), f), f
		}
	}
	checkFaults(t, []faultCase{
		// Pause-ASG-Scaling: aws:ec2:asg-insufficient-instance-capacity-error, percentage 100.
		{name: "Pause-ASG-Scaling: the group's launches into the zone fail",
			make: fleet(func(h hooks, _ *fakeFleet) fault { return &impairLaunches{capacity: h.capacity, zone: "a"} }),
			note: "a takes launches again", log: []string{"impair a", "restore a"}},
		{name: "Pause-ASG-Scaling: a group that does not report the zone impaired is undone",
			make: fleet(func(_ hooks, f *fakeFleet) fault {
				return &impairLaunches{capacity: deafCapacity{&fakeCapacity{f: f, impaired: map[string]bool{}}}, zone: "a"}
			}),
			verify: "the group does not report a impaired", note: "a takes launches again", log: []string{"impair a", "restore a"}},
		// Pause-network-connectivity: aws:network:disrupt-connectivity, scope all, PT2M.
		{name: "Pause-network-connectivity: the zone's targets cut off on every node",
			make: fleet(func(h hooks, _ *fakeFleet) fault {
				return &subnetBlackhole{lb: h.lb, clock: h.clock, zone: "a", lasts: FISBlackhole}
			}),
			log: []string{cutOff, "lb remove chaos #1", cutOffEnds}},
		{name: "Pause-network-connectivity without the load balancer's hook: left out",
			make: fleet(func(h hooks, _ *fakeFleet) fault {
				return &subnetBlackhole{clock: h.clock, zone: "a", lasts: FISBlackhole}
			}),
			apply:   "the subnets are not cut off: this lab has no load balancer fault hook",
			partial: true, log: []string{}},
		{name: "Pause-network-connectivity for no time: nothing",
			make: fleet(func(h hooks, _ *fakeFleet) fault { return &subnetBlackhole{lb: h.lb, clock: h.clock, zone: "a"} }),
			log:  []string{}},
		// Stop-Instances, Stop-ASG-Instances: aws:ec2:stop-instances, startInstancesAfterDuration.
		{name: "Stop-Instances: the zone's instances stop, and start after",
			make: fleet(func(h hooks, _ *fakeFleet) fault {
				return &stopZone{target: h.target, zone: "a", ids: []string{"i-a1", "i-a2"}}
			}),
			holding: []string{"i-a1", "i-a2"}, note: "2 instance(s) started, 0 already replaced by the group",
			log: []string{"stop i-a1", "stop i-a2", "start i-a1", "start i-a2"}},
		{name: "Stop-Instances: the group replaced them meanwhile (completeIfInstancesTerminated)",
			make: fleet(func(_ hooks, f *fakeFleet) fault {
				return &stopZone{target: refusing{f, "start"}, zone: "a", ids: []string{"i-a1", "i-a2"}}
			}),
			holding: []string{"i-a1", "i-a2"}, note: "0 instance(s) started, 2 already replaced by the group",
			log: []string{"stop i-a1", "stop i-a2"}},
		// Not FIS: lb_node: down.
		{name: "lb_node: down: the zone's node goes down, and comes back",
			make: fleet(func(h hooks, _ *fakeFleet) fault { return &zoneNodeDown{nodes: h.nodes, zone: "a"} }),
			log:  []string{"node down a", "node up a"}},
		{name: "lb_node: down without node control: left out",
			make:  fleet(func(hooks, *fakeFleet) fault { return &zoneNodeDown{zone: "a"} }),
			apply: "the zone's load-balancer node stays up: load balancer node control not available", partial: true, log: []string{}},
	})
}

// TestAZOutageCutsTheZoneOffForTwoMinutes: Pause-network-connectivity
// (duration PT2M) is a blackhole on every target in the zone, from every
// node: no instance list narrows it, so the zone's own node cannot reach
// its zone's targets either. It ends itself after 2 minutes while the
// outage goes on.
func TestAZOutageCutsTheZoneOffForTwoMinutes(t *testing.T) {
	f := newFleet()
	h := outageHooks(f)
	lb := h.lb.(*fakeLB)
	c := h.clock.(*clock.Fake)
	r := NewRunner(nil, c, f, pub{f}, nil, 1)
	r.SetCapacity(h.capacity)
	r.SetLoadBalancer(lb)
	r.SetNodes(h.nodes)
	if err := r.Inject(context.Background(), Action{Kind: AZOutage, Zone: "a", Duration: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	lb.mu.Lock()
	var cut []RequestFault
	for _, rf := range lb.active {
		cut = append(cut, rf)
	}
	lb.mu.Unlock()
	if len(cut) != 1 || !cut[0].Blackhole || cut[0].Zone != "a" || cut[0].Percent != 100 || cut[0].Instances != nil {
		t.Fatalf("the subnets are cut off as %+v; want one blackhole on every target in a, all requests", cut)
	}
	if h.nodes.(*fakeNodes).down["a"] {
		t.Fatal("the zone's load-balancer node went down; FIS leaves it up")
	}
	c.Advance(FISBlackhole - time.Second)
	if lb.activeNow() != 1 {
		t.Fatal("the subnets took packets again before 2 minutes")
	}
	c.Advance(time.Second)
	// The hole is taken away, then its end is put on record (the timer's
	// goroutine): wait for both, not the first alone.
	waitFor(t, func() bool {
		return lb.activeNow() == 0 && has(f.lines(), "a's subnets take packets again (the first 2m ended)")
	})
	if !h.capacity.ZoneImpaired("a") || stillRunning(f, "i-a1") {
		t.Fatalf("after 2 minutes the outage goes on without its blackhole:\n%s", strings.Join(f.lines(), "\n"))
	}
	r.RevertAll(context.Background(), "the run ended")
	if h.capacity.ZoneImpaired("a") || !stillRunning(f, "i-a1") {
		t.Fatal("RevertAll left zone a down")
	}
}

// TestPlanOutage: what an az-outage action plans and puts on record.
func TestPlanOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a      Action
		err    string
		parts  int
		detail string
	}{
		{name: "FIS's defaults: subnets cut off for 2 minutes (PT2M), the node up",
			a: Action{Kind: AZOutage, Zone: "a", Duration: 10 * time.Minute}, parts: 3,
			detail: "2 instance(s) stop (aws:ec2:stop-instances); launches into a fail with InsufficientInstanceCapacity " +
				"(aws:ec2:asg-insufficient-instance-capacity-error); its subnets are cut off for the first 2m " +
				"(aws:network:disrupt-connectivity, scope all): connections into them time out; " +
				"its load-balancer node stays up (FIS does not act on it; with cross-zone on it serves from the other zones)"},
		{name: "the scenario sets the blackhole's time",
			a: Action{Kind: AZOutage, Zone: "a", Duration: 10 * time.Minute, BlackholeFor: 30 * time.Second}, parts: 3,
			detail: "cut off for the first 30s"},
		{name: "an outage shorter than 2 minutes: cut off throughout",
			a: Action{Kind: AZOutage, Zone: "a", Duration: time.Minute}, parts: 3, detail: "cut off for the first 1m"},
		{name: "lb_node: down",
			a: Action{Kind: AZOutage, Zone: "a", Duration: 10 * time.Minute, LBNode: LBNodeDown}, parts: 4,
			detail: "its load-balancer node goes down (lb_node: down, not part of FIS's scenario)"},
		{name: "lb_node: up is the default",
			a: Action{Kind: AZOutage, Zone: "a", Duration: 10 * time.Minute, LBNode: LBNodeUp}, parts: 3, detail: "stays up"},
		{name: "lb_node must be up or down",
			a: Action{Kind: AZOutage, Zone: "a", Duration: time.Minute, LBNode: "sideways"}, err: `lb_node "sideways" is not one of up, down`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet()
			p, err := planOutage(outageHooks(f), tc.a, rand.New(rand.NewPCG(1, 2)))
			if errText(err) != tc.err {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if err != nil {
				return
			}
			rec, c := p.faults[0].rec, p.faults[0].fault.(*compound)
			if len(c.parts) != tc.parts || !strings.Contains(rec.Detail, tc.detail) || p.down != 2 || p.zone != "a" {
				t.Fatalf("%d parts, down %d in %q, detail %q; want %d parts, 2 down in a, detail with %q", len(c.parts), p.down, p.zone, rec.Detail, tc.parts, tc.detail)
			}
		})
	}
}

// TestAZOutageUndoneInReverseOrderByTheRunner: when a later part fails
// (no instance stops), the runner records the fault and reverts the parts
// already applied, last first.
func TestAZOutageUndoneInReverseOrderByTheRunner(t *testing.T) {
	f := newFleet()
	h := outageHooks(f)
	r := NewRunner(nil, h.clock, refusing{f, "stop"}, pub{f}, logJournal{f}, 1)
	r.SetLoadBalancer(h.lb)
	r.SetCapacity(h.capacity)
	r.SetNodes(h.nodes)
	err := r.Inject(context.Background(), Action{Kind: AZOutage, Zone: "a", Duration: 9 * time.Minute, LBNode: LBNodeDown})
	if err == nil || err.Error() != "stop i-a1: refused\nstop i-a2: refused" {
		t.Fatalf("err %v", err)
	}
	log := f.lines()
	want := []string{"journal chaos.FaultInjected", "impair a", "lb inject chaos #1", "node down a",
		"node up a", "lb remove chaos #1", "journal chaos.FaultProgress", "restore a", "journal chaos.FaultReverted"}
	for i := 1; i < len(want); i++ {
		before(t, log, want[i-1], want[i])
	}
	if !has(log, "reverted because its effect was not seen; a takes launches again; 0 instance(s) started, 0 already replaced by the group") {
		t.Fatalf("the revert's note:\n%s", strings.Join(log, "\n"))
	}
	if inj, rev := r.Counts(); inj != 1 || rev != 1 || r.Pending() != 0 {
		t.Fatalf("injected %d reverted %d pending %d", inj, rev, r.Pending())
	}
}
