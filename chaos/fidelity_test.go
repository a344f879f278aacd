package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// TestFidelity checks, one row per documented FIS behaviour, that
// az-outage does what FIS's AZ Availability: Power Interruption scenario
// does, on a fake clock. Each row cites the section of
// ../shared/reference/aws-behaviour.md and the AWS page it follows.
func TestFidelity(t *testing.T) {
	const fis = "https://docs.aws.amazon.com/fis/latest/userguide/az-availability-scenario.html"
	type rig struct {
		f     *fakeFleet
		h     hooks
		lb    *fakeLB
		nodes *fakeNodes
		clock *clock.Fake
		r     *Runner
	}
	outage := func(t *testing.T, a Action) rig {
		f := newFleet()
		h := outageHooks(f)
		g := rig{f: f, h: h, lb: h.lb.(*fakeLB), nodes: h.nodes.(*fakeNodes), clock: h.clock.(*clock.Fake)}
		g.r = NewRunner(nil, g.clock, f, pub{f}, nil, 1)
		g.r.SetCapacity(h.capacity)
		g.r.SetLoadBalancer(h.lb)
		g.r.SetNodes(h.nodes)
		a.Kind, a.Zone = AZOutage, "a"
		if err := g.r.Inject(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		return g
	}
	rows := []struct {
		behaviour string
		cite      string
		check     func(t *testing.T)
	}{
		{"Stop-Instances: every running instance in the zone stops, the other zones' run on",
			"4.1 Stop-Instances, Stop-ASG-Instances (aws:ec2:stop-instances); " + fis,
			func(t *testing.T) {
				g := outage(t, Action{Duration: 30 * time.Minute})
				if stillRunning(g.f, "i-a1") || stillRunning(g.f, "i-a2") || !stillRunning(g.f, "i-b1") || !stillRunning(g.f, "i-c1") {
					t.Fatalf("running after the outage began: %v", g.f.Running())
				}
			}},
		{"Pause-ASG-Scaling: no re-scaling of compute in the zone (InsufficientInstanceCapacity) for the whole outage",
			"4.1 Pause-ASG-Scaling (aws:ec2:asg-insufficient-instance-capacity-error, percentage 100); " + fis,
			func(t *testing.T) {
				g := outage(t, Action{Duration: 30 * time.Minute})
				g.clock.Advance(30*time.Minute - time.Second)
				if !g.h.capacity.ZoneImpaired("a") {
					t.Fatal("launches into the zone resumed before the outage ended")
				}
			}},
		{"Pause-network-connectivity: the zone's subnets are cut off for 2 minutes (PT2M), every target there from every node",
			"4.1 Pause-network-connectivity (aws:network:disrupt-connectivity, scope all, duration PT2M); 4.2 packets dropped: timeouts; " + fis,
			func(t *testing.T) {
				g := outage(t, Action{Duration: 30 * time.Minute})
				g.lb.mu.Lock()
				rf := g.lb.active["chaos #1"]
				g.lb.mu.Unlock()
				if !rf.Blackhole || rf.Zone != "a" || rf.Percent != 100 || rf.Instances != nil {
					t.Fatalf("cut off as %+v", rf)
				}
				g.clock.Advance(FISBlackhole)
				waitFor(t, func() bool { return g.lb.activeNow() == 0 })
				if !g.h.capacity.ZoneImpaired("a") || stillRunning(g.f, "i-a1") {
					t.Fatal("the outage ended with the network disruption")
				}
			}},
		{"FIS does not act on the load balancer: the zone's node stays up (lb_node: down is the lab's harsher test)",
			"4.1 the scenario's actions (no Elastic Load Balancing action); " + fis,
			func(t *testing.T) {
				if g := outage(t, Action{Duration: 30 * time.Minute}); g.nodes.down["a"] {
					t.Fatal("the zone's load-balancer node went down")
				}
				if g := outage(t, Action{Duration: 30 * time.Minute, LBNode: LBNodeDown}); !g.nodes.down["a"] {
					t.Fatal("lb_node: down left the node up")
				}
			}},
		{"After the interruption the stopped instances start again (startInstancesAfterDuration) and launches resume",
			"4.1 Stop-Instances startInstancesAfterDuration = the interruption's duration; 4.2 aws:ec2:stop-instances; " + fis,
			func(t *testing.T) {
				g := outage(t, Action{Duration: 30 * time.Minute})
				g.clock.Advance(30 * time.Minute)
				waitFor(t, func() bool {
					return stillRunning(g.f, "i-a1") && stillRunning(g.f, "i-a2") && !g.h.capacity.ZoneImpaired("a")
				})
			}},
	}
	for _, row := range rows {
		t.Run(row.behaviour, func(t *testing.T) {
			t.Logf("cites %s", row.cite)
			row.check(t)
		})
	}
}
