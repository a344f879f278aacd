package asg

import (
	"context"
	"strings"
	"testing"
	"time"
)

func (r *recorder) failedLaunches(zone string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.evs {
		if a, ok := e.(ScalingActivity); ok && a.Status == "Failed" && a.Zone == zone &&
			strings.Contains(a.Description, "sufficient capacity") {
			n++
		}
	}
	return n
}

func TestLaunchesAvoidAnImpairedZoneThenReturnWhenItRecovers(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Desired = 3 })
	ctx := context.Background()
	r.g.Reconcile(ctx)
	if z := r.zones(); z["us-east-1a"] != 1 || z["us-east-1b"] != 1 || z["us-east-1c"] != 1 {
		t.Fatalf("not balanced at start: %v", z)
	}
	restore, err := r.g.ImpairZone("us-east-1a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.g.ImpairZone("us-east-9z"); err == nil {
		t.Fatal("impairing a zone the group does not have was accepted")
	}
	if !r.g.ZoneImpaired("us-east-1a") || r.g.ZoneImpaired("us-east-1b") {
		t.Fatal("ZoneImpaired is wrong")
	}
	// The zone's instance is lost (power out): the group replaces it elsewhere.
	for _, in := range r.g.Instances() {
		if in.Zone == "us-east-1a" {
			r.fleet.kill(in.ID)
		}
	}
	r.g.Reconcile(ctx)
	r.settle(t)
	r.g.Reconcile(ctx)
	z := r.zones()
	if z["us-east-1a"] != 0 || z["us-east-1b"]+z["us-east-1c"] != 3 {
		t.Fatalf("launched into the impaired zone, or not at all: %v", z)
	}
	if r.ev.failedLaunches("us-east-1a") == 0 {
		t.Fatal("no failed launch (InsufficientInstanceCapacity) was shown for us-east-1a")
	}
	// Scale out while impaired: still never us-east-1a.
	if err := r.g.SetDesired(5); err != nil {
		t.Fatal(err)
	}
	r.g.Reconcile(ctx)
	if z := r.zones(); z["us-east-1a"] != 0 || z["us-east-1b"]+z["us-east-1c"] != 5 {
		t.Fatalf("scale-out went into the impaired zone: %v", z)
	}
	restore()
	restore()
	if r.g.ZoneImpaired("us-east-1a") {
		t.Fatal("still impaired after restore")
	}
	if err := r.g.SetDesired(6); err != nil {
		t.Fatal(err)
	}
	r.g.Reconcile(ctx)
	if z := r.zones(); z["us-east-1a"] != 1 {
		t.Fatalf("the recovered zone got no launch: %v", z)
	}
}

func TestEveryZoneImpairedLaunchesNothing(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Zones = []string{"us-east-1a"} })
	restore, _ := r.g.ImpairZone("us-east-1a")
	defer restore()
	r.g.Reconcile(context.Background())
	if len(r.g.Instances()) != 0 || r.ev.failedLaunches("us-east-1a") != 1 {
		t.Fatalf("instances %v, failed launches %d", r.g.Instances(), r.ev.failedLaunches("us-east-1a"))
	}
}

func TestLaunchOrderIsFewestFirstTiesInZoneOrder(t *testing.T) {
	got := launchOrder([]string{"a", "b", "c"}, []int{2, 1, 1})
	if strings.Join(got, ",") != "b,c,a" {
		t.Fatalf("got %v", got)
	}
}

// When an impaired zone recovers, AZRebalance launches in it first and
// then terminates the extras elsewhere, going above max by at most 10% of
// max or one instance (aws-behaviour.md 2.1, 2.2).
func TestAZRebalanceLaunchesBeforeTerminating(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Desired, c.Max = 6, 6; c.Policies = nil })
	ctx := context.Background()
	r.g.Reconcile(ctx)
	restore, _ := r.g.ImpairZone("us-east-1a")
	for _, in := range r.g.Instances() {
		if in.Zone == "us-east-1a" {
			r.fleet.kill(in.ID)
		}
	}
	for range 3 {
		r.g.Reconcile(ctx)
		r.settle(t)
	}
	if z := r.zones(); z["us-east-1a"] != 0 || z["us-east-1b"] != 3 || z["us-east-1c"] != 3 {
		t.Fatalf("while impaired: %v", z)
	}
	r.g.Reconcile(ctx) // still impaired: no rebalancing toward a zone that takes no launches
	if n := len(r.g.Instances()); n != 6 {
		t.Fatalf("%d instances while impaired", n)
	}
	restore()
	before := len(r.fleet.order)
	most := 0
	for range 10 {
		r.clock.Advance(10 * time.Second)
		r.g.Reconcile(ctx)
		r.settle(t)
		most = max(most, len(r.g.Instances()))
	}
	if z := r.zones(); z["us-east-1a"] != 2 || z["us-east-1b"] != 2 || z["us-east-1c"] != 2 {
		t.Fatalf("after rebalancing: %v", z)
	}
	if most != 7 {
		t.Fatalf("at most %d instances; AZRebalance may go one above max 6", most)
	}
	got := r.fleet.order[before:]
	want := []string{"launch", "terminate", "launch", "terminate"}
	if len(got) != len(want) {
		t.Fatalf("actions %v", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("actions %v, want launch before each terminate", got)
		}
	}
}
