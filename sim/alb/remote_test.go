package alb

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// inProcess is a RemoteNode on another load balancer in this process: the
// seam the lab's agent client stands at (lab/agentnode_remote.go), here
// without the wire.
type inProcess struct {
	lb     *LoadBalancer
	zone   string
	silent *atomic.Bool // set: its host answers nothing (cut off the network)
}

func (r inProcess) Register(_ context.Context, t RemoteTarget) error {
	return r.lb.RegisterIn(t.Group, t.ID, t.Zone, t.Addr)
}

func (r inProcess) Deregister(ctx context.Context, id az.InstanceID) error {
	drained, err := r.lb.Deregister(id)
	if err != nil {
		return err
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r inProcess) State(context.Context) (NodeState, error) {
	if r.silent != nil && r.silent.Load() {
		return NodeState{}, errors.New("no answer: the host is cut off")
	}
	return r.lb.NodeState(r.zone)
}

func (r inProcess) InjectFault(_ context.Context, f Fault) (func() int64, error) {
	return r.lb.InjectFault(f)
}

func (r inProcess) SetForwardWeights(_ context.Context, priority int, ws []WeightedGroup) error {
	return r.lb.SetForwardWeights(priority, ws)
}

func (r inProcess) SetUp(_ context.Context, up bool) error {
	if up {
		return r.lb.StartNode(r.zone)
	}
	return r.lb.StopNode(r.zone)
}

// TestRemoteNodeIsMirrored: a zone's node serving elsewhere (here another
// load balancer with that zone alone, as an agent runs it) is registered
// with, checked by its own health checks, counted, stopped, started and
// deregistered through its mirror, and the load balancer's health, counts
// and node state see it as a local node.
func TestRemoteNodeIsMirrored(t *testing.T) {
	far := newHarness(t, func(c *Config) { c.Zones = c.Zones[1:] }) // us-east-1b's host
	h := newHarness(t, func(c *Config) {
		c.Remote = map[string]RemoteNode{"us-east-1b": inProcess{lb: far.lb, zone: "us-east-1b"}}
	})
	local, mirrored, remote := h.lb.Nodes()[0], h.lb.Nodes()[1], far.lb.Nodes()[0]
	if mirrored.mirror == nil || local.mirror != nil || !h.lb.HasRemoteNodes() {
		t.Fatal("us-east-1b's node should be the mirror, us-east-1a's local")
	}
	a := backend(t, "a", nil)
	h.register("i-a", "us-east-1a", a) // waits for the mirror's first view too
	h.waitState("i-a", StateHealthy)
	if got, _ := remote.Health("i-a"); got.State != StateHealthy {
		t.Fatalf("the remote node's own view of i-a: %s", got)
	}
	if far.prober.count() == 0 {
		t.Fatal("the remote node ran no health check of its own")
	}

	// Traffic through the remote node is counted in its mirror.
	resp, _ := get(t, remote.URL()+"/")
	if by := resp.Header.Get("X-Served-By"); by != "a" {
		t.Fatalf("the remote node routed to %q", by)
	}
	waitFor(t, "the mirror's request count", func() bool { return mirrored.Metrics().RequestCount == 1 })
	if c := h.lb.TargetGroupCounts("lab"); c.Requests != 1 || c.Target2XX != 1 || c.Healthy != 1 {
		t.Fatalf("the target group's counts: %+v, want the remote node's request", c)
	}
	if all := h.lb.AllTargetGroupCounts(); all[0].Requests != 1 || all[0].Healthy != 1 {
		t.Fatalf("every group's counts (the scrape's): %+v, want the remote node's request", all)
	}
	if s := mirrored.Metrics(); s.HealthyHostCount["us-east-1a"] != 1 {
		t.Fatalf("the mirror's healthy hosts: %v", s.HealthyHostCount)
	}

	// The remote node alone finds the target failing: the mirror follows,
	// the local node does not, and the fold stays healthy.
	far.prober.set(a, timeout)
	for range 2 {
		far.check(1)
	}
	waitFor(t, "the mirror sees i-a unhealthy", func() bool { got, _ := mirrored.Health("i-a"); return got.State == StateUnhealthy })
	if got, _ := local.Health("i-a"); got.State != StateHealthy || h.lb.TargetHealth("i-a") != StateHealthy {
		t.Fatalf("the local node's view %s, the fold %s: want healthy", got, h.lb.TargetHealth("i-a"))
	}

	// Stop and start go to the remote node.
	if err := h.lb.StopNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	if h.lb.NodeUp("us-east-1b") || far.lb.NodeUp("us-east-1b") {
		t.Fatal("the remote node and its mirror should be down")
	}
	if err := h.lb.StopNode("us-east-1b"); err == nil {
		t.Fatal("a second stop should be refused")
	}
	far.prober.set(a, pass)
	if err := h.lb.StartNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	if !h.lb.NodeUp("us-east-1b") || !far.lb.NodeUp("us-east-1b") {
		t.Fatal("the remote node and its mirror should be up")
	}
	waitFor(t, "the restarted remote node's fresh view, mirrored", func() bool { got, _ := mirrored.Health("i-a"); return got.State == StateHealthy })

	// A request fault acts on the remote node too, and its hits add up.
	remove, err := h.lb.InjectFault(Fault{Percent: 100, Status: 418})
	if err != nil {
		t.Fatal(err)
	}
	if far.lb.ActiveFaults() != 1 {
		t.Fatalf("the remote node has %d faults, want the one injected", far.lb.ActiveFaults())
	}
	if resp, _ := get(t, remote.URL()+"/"); resp.StatusCode != 418 {
		t.Fatalf("through the remote node with the fault on: %d, want 418", resp.StatusCode)
	}
	if hits := remove(); hits != 1 || far.lb.ActiveFaults() != 0 {
		t.Fatalf("the fault hit %d request(s), the remote node has %d faults left; want 1 and 0", hits, far.lb.ActiveFaults())
	}

	// Deregistration drains on both; the mirror stays draining.
	drained, err := h.lb.Deregister("i-a")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("deregistration did not end with both nodes idle")
	}
	if got, _ := remote.Health("i-a"); got.State != StateDraining {
		t.Fatalf("the remote node's view after deregistration: %s, want draining", got)
	}
	for range 2 { // two polls more: a remote view must not undo the mirror's draining
		last := mirrored.mirror.state.Load()
		waitFor(t, "the mirror's next poll", func() bool { return mirrored.mirror.state.Load() != last })
	}
	if got, _ := mirrored.Health("i-a"); got.State != StateDraining {
		t.Fatalf("the mirror's view after deregistration: %s, want draining", got)
	}
}

// A blue/green shift's new weights reach the remote node too, and its
// traffic follows them.
func TestRemoteNodeTakesForwardWeights(t *testing.T) {
	groups := func(c *Config) {
		c.TargetGroupName = "web"
		c.TargetGroups = []TargetGroupConfig{{Name: "api", HealthCheck: c.HealthCheck, Prober: c.Prober}}
		c.Rules = []Rule{{Priority: 2, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/split/*"}}},
			Action: RuleAction{Type: ActionForward, Weighted: []WeightedGroup{{Name: "web", Weight: 100}, {Name: "api", Weight: 0}}}}}
	}
	far := newHarness(t, func(c *Config) { groups(c); c.Zones = c.Zones[1:] })
	h := newHarness(t, func(c *Config) {
		groups(c)
		c.Remote = map[string]RemoteNode{"us-east-1b": inProcess{lb: far.lb, zone: "us-east-1b"}}
	})
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	if err := h.lb.RegisterIn("api", "i-api", "us-east-1b", backend(t, "api", nil)); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-web", StateHealthy)
	h.waitState("i-api", StateHealthy)
	remote := far.lb.Nodes()[0]
	if resp, _ := get(t, remote.URL()+"/split/x"); resp.Header.Get("X-Served-By") != "web" {
		t.Fatalf("the remote node at 100/0 routed to %q", resp.Header.Get("X-Served-By"))
	}
	want := []WeightedGroup{{Name: "web", Weight: 0}, {Name: "api", Weight: 100}}
	if err := h.lb.SetForwardWeights(2, want); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the remote node's new weights", func() bool { return slices.Equal(far.lb.ForwardWeights(2), want) })
	for range 4 {
		if resp, _ := get(t, remote.URL()+"/split/x"); resp.Header.Get("X-Served-By") != "api" {
			t.Fatalf("the remote node at 0/100 routed to %q", resp.Header.Get("X-Served-By"))
		}
	}
}

// A remote node whose host stops answering (cut off, or gone) is, once
// silent for longer than a target takes to turn unhealthy, counted as a
// stopped node: its last view no longer holds a target healthy that the
// live nodes find dead, and it is not up. It counts again once it answers.
func TestSilentRemoteNodeStopsCounting(t *testing.T) {
	far := newHarness(t, func(c *Config) { c.Zones = c.Zones[1:] })
	var silent atomic.Bool
	h := newHarness(t, func(c *Config) {
		c.HealthCheck.Interval = 100 * time.Millisecond // silence allowed: max(1 s, 2 x 100 ms)
		c.Remote = map[string]RemoteNode{"us-east-1b": inProcess{lb: far.lb, zone: "us-east-1b", silent: &silent}}
	})
	a := backend(t, "a", nil)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	local := h.lb.Nodes()[0]
	h.prober.set(a, timeout) // only the local node checks with h's prober; the remote node still passes it
	for range 3 {
		want := h.prober.count() + 1
		h.clock.Advance(100 * time.Millisecond)
		waitFor(t, "the local node's next check", func() bool { return h.prober.count() >= want })
	}
	waitFor(t, "the local node sees i-a unhealthy", func() bool { got, _ := local.Health("i-a"); return got.State == StateUnhealthy })
	if got := h.lb.TargetHealth("i-a"); got != StateHealthy || !h.lb.NodeUp("us-east-1b") {
		t.Fatalf("with the remote node answering: fold %s, node up %v; want healthy (its view), up", got, h.lb.NodeUp("us-east-1b"))
	}
	silent.Store(true)
	waitFor(t, "the silent node's view to stop counting", func() bool {
		return h.lb.TargetHealth("i-a") == StateUnhealthy && !h.lb.NodeUp("us-east-1b")
	})
	if c := h.lb.AllTargetGroupCounts()[0]; c.Healthy != 0 || c.Unhealthy != 1 {
		t.Fatalf("the scrape's counts with the remote node silent: %+v, want i-a unhealthy", c)
	}
	silent.Store(false)
	waitFor(t, "the node counting again once it answers", func() bool {
		return h.lb.TargetHealth("i-a") == StateHealthy && h.lb.NodeUp("us-east-1b")
	})
}

// TestRemoteNodeAnomalyIsMirrored: Automatic Target Weights runs on the
// remote node, where the traffic is; its results reach the mirror (as
// TargetAnomalyChanged from that node, DescribeTargetHealth's anomaly
// detection, CloudWatch's AnomalousHostCount and MitigatedHostCount), and
// the mirror, which proxies nothing, is not stepped back to normal.
func TestRemoteNodeAnomalyIsMirrored(t *testing.T) {
	weighted := func(c *Config) { c.Algorithm, c.AnomalyMitigation, c.Seed = AlgorithmWeightedRandom, true, 3 }
	far := newHarness(t, func(c *Config) { weighted(c); c.Zones = c.Zones[1:] }) // us-east-1b's host
	h := newHarness(t, func(c *Config) {
		weighted(c)
		c.Remote = map[string]RemoteNode{"us-east-1b": inProcess{lb: far.lb, zone: "us-east-1b"}}
	})
	changes := record[TargetAnomalyChanged](h)
	failing := registerTrio(t, h)
	remote := far.lb.Nodes()[0]
	waitFor(t, "the remote node's view of the three targets", func() bool {
		for _, id := range []az.InstanceID{"i-a", "i-b", "i-c"} {
			if got, _ := remote.Health(id); got.State != StateHealthy {
				return false
			}
		}
		return true
	})
	serve(t, remote, 300)
	far.lb.stepATW() // the remote node's own step
	if got := far.lb.AnomalyDetection("i-c")["us-east-1b"]; got.Result != AnomalyAnomalous || got.MitigationInEffect != MitigationYes {
		t.Fatalf("the remote node's own result: %+v", got)
	}
	changes.wait(t, "the remote node's anomalous event, from its mirror", func(e TargetAnomalyChanged) bool {
		return e.Node == "us-east-1b" && e.Target == "i-c" && e.From == AnomalyNormal && e.To == AnomalyAnomalous &&
			e.MitigationInEffect == MitigationYes && e.Errors > 0
	})
	if got := h.lb.AnomalyDetection("i-c")["us-east-1b"]; got.Result != AnomalyAnomalous || got.Weight != 0.5 {
		t.Fatalf("DescribeTargetHealth's anomaly detection of i-c on the remote node: %+v", got)
	}
	if a, m := h.lb.AnomalyCounts("us-east-1b"); a != 1 || m != 1 {
		t.Fatalf("AnomalousHostCount %d MitigatedHostCount %d for us-east-1b, want 1 and 1", a, m)
	}
	h.lb.stepATW() // the controller's step leaves the mirror alone
	if got := h.lb.AnomalyDetection("i-c")["us-east-1b"]; got.Result != AnomalyAnomalous {
		t.Fatalf("after the controller's own ATW step, the mirror's result: %+v", got)
	}
	if got := h.lb.AnomalyDetection("i-c")["us-east-1a"]; got.Result != AnomalyNormal {
		t.Fatalf("the local node, which saw no traffic: %+v", got)
	}

	failing.Store(false)
	waitFor(t, "the remote node's recovery, mirrored", func() bool {
		serve(t, remote, 200)
		far.lb.stepATW()
		return h.lb.AnomalyDetection("i-c")["us-east-1b"].Weight == 1
	})
	changes.wait(t, "the remote node's normal event, from its mirror", func(e TargetAnomalyChanged) bool {
		return e.Node == "us-east-1b" && e.Target == "i-c" && e.From == AnomalyAnomalous && e.To == AnomalyNormal
	})
}
