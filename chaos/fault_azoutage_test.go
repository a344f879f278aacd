package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

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

func TestAZOutageFault(t *testing.T) {
	outage := func(change func(h *hooks, f *fakeFleet), hole time.Duration) func() (fault, *fakeFleet) {
		return func() (fault, *fakeFleet) {
			f := newFleet()
			h := outageHooks(f)
			if change != nil {
				change(&h, f)
			}
			return newAZOutage(h, "a", []string{"i-a1", "i-a2"}, hole), f
		}
	}
	const recovered = "a takes launches again; 2 instance(s) started, 0 already replaced by the group"
	const holeEnds = "progress: a's subnet takes packets again (the outage ended); 7 request(s) timed out into it"
	checkFaults(t, []faultCase{
		{name: "every part, reverted in reverse order", make: outage(nil, 3*time.Minute),
			holding: []string{"i-a1", "i-a2"}, note: recovered,
			log: []string{"impair a", "lb inject chaos #1 zone=a percent=100 status=0 latency=0s jitter=0s", "node down a", "stop i-a1", "stop i-a2",
				"start i-a1", "start i-a2", "node up a", "lb remove chaos #1", holeEnds, "restore a"}},
		{name: "no blackhole time: no blackhole", make: outage(nil, 0),
			holding: []string{"i-a1", "i-a2"}, note: recovered,
			log: []string{"impair a", "node down a", "stop i-a1", "stop i-a2", "start i-a1", "start i-a2", "node up a", "restore a"}},
		{name: "without the load balancer's hook and node control: the rest goes on",
			make:    outage(func(h *hooks, _ *fakeFleet) { h.lb, h.nodes = nil, nil }, 3*time.Minute),
			holding: []string{"i-a1", "i-a2"}, note: recovered, partial: true,
			verify: "the subnet is not blackholed: this lab has no load balancer fault hook; the zone's load-balancer node stays up: load balancer node control not available",
			log:    []string{"impair a", "stop i-a1", "stop i-a2", "start i-a1", "start i-a2", "restore a"}},
		{name: "the blackhole and the node refused: the rest goes on",
			make:    outage(func(h *hooks, f *fakeFleet) { h.lb, h.nodes = refusingLB{newFakeLB(f)}, refusingNodes{} }, 3*time.Minute),
			holding: []string{"i-a1", "i-a2"}, note: recovered, partial: true,
			verify: "the subnet is not blackholed: refused; the zone's load-balancer node stays up: refused",
			log:    []string{"impair a", "stop i-a1", "stop i-a2", "start i-a1", "start i-a2", "restore a"}},
		{name: "the group does not report the zone impaired: every part reverted",
			make: outage(func(h *hooks, f *fakeFleet) {
				h.capacity = deafCapacity{&fakeCapacity{f: f, impaired: map[string]bool{}}}
			}, 3*time.Minute),
			holding: []string{"i-a1", "i-a2"}, note: recovered, verify: "the group does not report a impaired",
			log: []string{"impair a", "lb inject chaos #1 zone=a percent=100 status=0 latency=0s jitter=0s", "node down a", "stop i-a1", "stop i-a2",
				"start i-a1", "start i-a2", "node up a", "lb remove chaos #1", holeEnds, "restore a"}},
		{name: "no instance stops: the parts before are reverted",
			make:   outage(func(h *hooks, f *fakeFleet) { h.target = refusing{f, "stop"} }, 3*time.Minute),
			verify: "stop i-a1: refused\nstop i-a2: refused", note: "a takes launches again; 0 instance(s) started, 0 already replaced by the group",
			log: []string{"impair a", "lb inject chaos #1 zone=a percent=100 status=0 latency=0s jitter=0s", "node down a",
				"node up a", "lb remove chaos #1", holeEnds, "restore a"}},
		{name: "launches cannot be impaired: nothing else is done",
			make:  outage(func(h *hooks, f *fakeFleet) { h.capacity = refusingCapacity{&fakeCapacity{f: f}} }, 3*time.Minute),
			apply: "impair a: refused", acted: true},
	})
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
	err := r.Inject(context.Background(), Action{Kind: AZOutage, Zone: "a", Duration: 9 * time.Minute})
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
