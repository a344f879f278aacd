package alb

import (
	"testing"
	"time"
)

// AllTargetGroupCounts is TargetGroupCounts of every target group at once,
// in TargetGroupNames' order: with healthy, unhealthy and draining targets
// in two groups, and once a node is stopped (its views no longer count).
func TestAllTargetGroupCountsIsEachGroupsCounts(t *testing.T) {
	h := twoGroups(t, 1, 1)
	a, b, c, d := backend(t, "a", nil), backend(t, "b", nil), backend(t, "c", nil), backend(t, "d", nil)
	h.register("i-a", "us-east-1a", a)
	h.register("i-b", "us-east-1b", b)
	h.register("i-c", "us-east-1a", c)
	if err := h.lb.RegisterIn("api", "i-d", "us-east-1b", d); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"i-a", "i-b", "i-c", "i-d"} {
		h.waitState(id, StateHealthy)
	}
	h.prober.set(b, timeout)
	h.check(4)
	h.check(4)
	h.waitState("i-b", StateUnhealthy)
	if _, err := h.lb.Deregister("i-c"); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-c", StateDraining)
	for _, n := range h.lb.Nodes() {
		get(t, n.URL()+"/")
		get(t, n.URL()+"/api/x")
	}
	same := func(when string) []TargetGroupCounts {
		t.Helper()
		all, names := h.lb.AllTargetGroupCounts(), h.lb.TargetGroupNames()
		if len(all) != len(names) {
			t.Fatalf("%s: %d counts for %d target groups", when, len(all), len(names))
		}
		for i, name := range names {
			if want := h.lb.TargetGroupCounts(name); all[i] != want {
				t.Errorf("%s: AllTargetGroupCounts()[%d] = %+v, TargetGroupCounts(%q) = %+v", when, i, all[i], name, want)
			}
		}
		return all
	}
	all := same("every node up")
	if web, api := all[0], all[1]; web.Name != "web" || web.Targets != 3 || web.Healthy != 1 || web.Unhealthy != 1 || web.Requests == 0 ||
		api.Name != "api" || api.Targets != 1 || api.Healthy != 1 || api.Requests != 2 {
		t.Errorf("counts %+v; want web's 3 targets (one healthy, one unhealthy, one draining) and api's healthy one, with traffic", all)
	}
	// node us-east-1b stopped with i-a healthy in its view, which freezes;
	// the live node then marks i-a unhealthy: unhealthy, as the live
	// views say
	if err := h.lb.StopNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	h.prober.set(a, timeout)
	live := h.lb.Nodes()[0]
	waitFor(t, "i-a unhealthy on the live node", func() bool {
		if got, _ := live.Health("i-a"); got.State == StateUnhealthy {
			return true
		}
		h.clock.Advance(30 * time.Second)
		return false
	})
	if got, _ := h.lb.Nodes()[1].Health("i-a"); got.State != StateHealthy {
		t.Fatalf("the stopped node's view of i-a is %s, want it frozen healthy", got.State)
	}
	if web := same("node us-east-1b stopped")[0]; web.Healthy != 0 || web.Unhealthy != 2 {
		t.Errorf("web %+v with the node stopped; want i-a and i-b unhealthy", web)
	}
}
