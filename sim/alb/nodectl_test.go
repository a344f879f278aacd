package alb

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// TestStoppedNodeStopsCheckingAndRoutingThenStartsFresh: a node taken down
// (a zone failure) refuses connections and runs no health checks, so its
// view stays where it was while the live node's moves on; a target
// registered meanwhile gets no checks from it. Brought back, it starts as a
// replacement node would: every target initial (Elb.InitialHealthChecking),
// checked at once, healthy on the first pass, unhealthy after the unhealthy
// threshold's failures.
func TestStoppedNodeStopsCheckingAndRoutingThenStartsFresh(t *testing.T) {
	h := newHarness(t, nil)
	a, b := backend(t, "a", nil), backend(t, "b", nil)
	h.register("i-a", "us-east-1a", a)
	h.register("i-b", "us-east-1b", b)
	h.waitState("i-a", StateHealthy)
	h.waitState("i-b", StateHealthy)
	nodeA, nodeB := h.lb.Nodes()[0], h.lb.Nodes()[1]
	tickers := h.clock.Waiters() // a watch per node and target, and ATW's

	if err := h.lb.StopNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stopped node's health-check tickers to stop", func() bool { return h.clock.Waiters() == tickers-2 })
	if _, err := http.Get(nodeB.URL() + "/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a stopped node: %v, want connection refused", err)
	}
	// i-b fails from now on: only the live node finds out.
	h.prober.set(b, timeout)
	for range 2 {
		want := h.prober.count() + 2 // node a's checks of i-a and i-b; none from node b
		h.clock.Advance(30 * time.Second)
		waitFor(t, "node a's round of checks", func() bool { return h.prober.count() >= want })
	}
	waitFor(t, "node a sees i-b unhealthy", func() bool { got, _ := nodeA.Health("i-b"); return got.State == StateUnhealthy })
	if got, _ := nodeB.Health("i-b"); got.State != StateHealthy {
		t.Fatalf("the stopped node's view of i-b moved to %s: it should not check", got)
	}
	// A target registered while the node is down: node a checks it, node b does not.
	if err := h.lb.Register("i-c", "us-east-1a", backend(t, "c", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node a checks i-c", func() bool { got, _ := nodeA.Health("i-c"); return got.State == StateHealthy })
	if got, _ := nodeB.Health("i-c"); got.Reason != ReasonRegistrationInProgress || h.clock.Waiters() != tickers-2+1 {
		t.Fatalf("the stopped node checks i-c: %s, %d tickers", got, h.clock.Waiters())
	}

	if err := h.lb.StartNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node b's checks of its three targets", func() bool { return h.clock.Waiters() == tickers+2 })
	waitFor(t, "node b's fresh view: i-a and i-c healthy on the first pass", func() bool {
		ga, _ := nodeB.Health("i-a")
		gc, _ := nodeB.Health("i-c")
		return ga.State == StateHealthy && gc.State == StateHealthy
	})
	if got, _ := nodeB.Health("i-b"); got.State != StateInitial || got.Reason != ReasonInitialHealthChecking {
		t.Fatalf("node b's fresh view of failing i-b after one check: %s, want initial (Elb.InitialHealthChecking)", got)
	}
	h.check(3)
	waitFor(t, "node b sees i-b unhealthy", func() bool { got, _ := nodeB.Health("i-b"); return got.State == StateUnhealthy })
	for range 4 {
		resp, _ := get(t, nodeB.URL()+"/")
		if by := resp.Header.Get("X-Served-By"); by != "a" && by != "c" {
			t.Fatalf("the restarted node routed to %q", by)
		}
	}
	if _, ok := nodeB.Health(az.InstanceID("i-b")); !ok {
		t.Fatal("the restarted node lost its targets")
	}
}
