package alb

import (
	"testing"
	"time"
)

// TestSubnetCutOffReachesTheZonesOwnNode: a Blackhole on a zone (chaos's
// az-outage, FIS's Pause-network-connectivity, aws:network:disrupt-connectivity
// scope all: https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html)
// cuts the zone's targets off from every node, the zone's own node
// included: with cross-zone off that node routes only to its own zone's
// targets, and its requests time out into the ALB's 504, while the other
// zone's node serves on.
func TestSubnetCutOffReachesTheZonesOwnNode(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CrossZone, c.ConnectTimeout = false, 200*time.Millisecond })
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.register("i-b", "us-east-1b", backend(t, "b", nil))
	h.waitState("i-a", StateHealthy)
	h.waitState("i-b", StateHealthy)
	remove, err := h.lb.InjectFault(Fault{Name: "chaos #1", Zone: "us-east-1b", Percent: 100, Blackhole: true})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	nodeA, nodeB := h.lb.Nodes()[0], h.lb.Nodes()[1]
	if nodeB.Zone() != "us-east-1b" {
		t.Fatalf("node 1 is in %s", nodeB.Zone())
	}
	start := time.Now()
	resp, _ := get(t, nodeB.URL()+"/")
	if resp.StatusCode != 504 || time.Since(start) < 200*time.Millisecond || resp.Header.Get("Server") != "awselb/2.0" {
		t.Fatalf("the zone's own node: %d from %q after %s; want the ALB's 504 after its connect timeout",
			resp.StatusCode, resp.Header.Get("Server"), time.Since(start))
	}
	if resp, _ := get(t, nodeA.URL()+"/"); resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "a" {
		t.Fatalf("the other zone's node: %d by %q, want 200 by a", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}
}
