package alb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// inProcess is a RemoteNode on another load balancer in this process: the
// seam the lab's agent client stands at (lab/agentnode_remote.go), here
// without the wire.
type inProcess struct {
	lb   *LoadBalancer
	zone string
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

func (r inProcess) State(context.Context) (NodeState, error) { return r.lb.NodeState(r.zone) }

func (r inProcess) InjectFault(_ context.Context, f Fault) (func() int64, error) {
	return r.lb.InjectFault(f)
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
	// Forward weights are not carried to remote nodes yet: refused, not half done.
	if err := h.lb.SetForwardWeights(1, nil); err == nil || !strings.Contains(err.Error(), "us-east-1b") {
		t.Fatalf("forward weights with a remote node: %v, want refused naming the zone", err)
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
