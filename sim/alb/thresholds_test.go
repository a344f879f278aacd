package alb

import (
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/simplydone/lab/events"
)

func TestMinimumHealthyBelow(t *testing.T) {
	tests := []struct {
		name           string
		m              MinimumHealthy
		healthy, total int
		want           bool
	}{
		{"default count 1: one healthy is enough", MinimumHealthy{Count: 1}, 1, 10, false},
		{"default count 1: none healthy breaches", MinimumHealthy{Count: 1}, 0, 10, true},
		{"count 3: two healthy breaches", MinimumHealthy{Count: 3}, 2, 10, true},
		{"percentage 50: 4 of 10 breaches (AWS's AZ-B example)", MinimumHealthy{Percentage: 50}, 4, 10, true},
		{"percentage 50: 14 of 20 holds (the same example, cross-zone on)", MinimumHealthy{Percentage: 50}, 14, 20, false},
		{"percentage 50: exactly half holds", MinimumHealthy{Percentage: 50}, 5, 10, false},
		{"either breached triggers: count holds, percentage breached", MinimumHealthy{Count: 1, Percentage: 60}, 5, 10, true},
		{"either breached triggers: percentage holds, count breached", MinimumHealthy{Count: 6, Percentage: 10}, 5, 10, true},
		{"both off never breaches", MinimumHealthy{}, 0, 10, false},
		{"count 1 with no targets breaches", MinimumHealthy{Count: 1}, 0, 0, true},
		{"percentage with no targets does not", MinimumHealthy{Percentage: 50}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Below(tt.healthy, tt.total); got != tt.want {
				t.Fatalf("Below(%d, %d) = %v, want %v", tt.healthy, tt.total, got, tt.want)
			}
		})
	}
}

func TestTargetGroupHealthValidate(t *testing.T) {
	tests := []struct {
		name string
		h    TargetGroupHealth
		err  string
	}{
		{"AWS's default", DefaultTargetGroupHealth(), ""},
		{"routing count off", TargetGroupHealth{DNSFailover: MinimumHealthy{Count: 1}}, "unhealthy_state_routing minimum healthy targets count 0"},
		{"DNS off entirely", TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 2}}, ""},
		{"percentage above 100", TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 1, Percentage: 101}}, "percentage 101"},
		{"negative DNS count", TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 1}, DNSFailover: MinimumHealthy{Count: -1}}, "dns_failover minimum healthy targets count -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.err)
			}
		})
	}
}

// recorder keeps the events of one type the bus delivers.
type recorder[E any] struct {
	mu  sync.Mutex
	got []E
}

func record[E events.Event](h *harness) *recorder[E] {
	r := &recorder[E]{}
	h.bus.Subscribe(func(env events.Envelope) {
		if e, ok := env.Event.(E); ok {
			r.mu.Lock()
			r.got = append(r.got, e)
			r.mu.Unlock()
		}
	})
	return r
}

func (r *recorder[E]) wait(t testing.TB, what string, match func(E) bool) {
	t.Helper()
	waitFor(t, what, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.ContainsFunc(r.got, match)
	})
}

// servedBy sends n requests straight to node zone and counts who served them.
func servedBy(t *testing.T, h *harness, zone string, n int) map[string]int {
	t.Helper()
	for _, nd := range h.lb.Nodes() {
		if nd.Zone() == zone {
			return serve(t, nd, n)
		}
	}
	t.Fatalf("no node in %s", zone)
	return nil
}

func TestRoutingFailoverBelowPercentageOverAllZones(t *testing.T) {
	// target-group-health.html: with cross-zone on, the thresholds apply to
	// the total number of targets in all enabled zones; below the routing
	// threshold the node routes to all targets, unhealthy ones included.
	h := newHarness(t, func(c *Config) {
		c.TargetGroupHealth = &TargetGroupHealth{
			UnhealthyStateRouting: MinimumHealthy{Count: 1, Percentage: 50},
			DNSFailover:           MinimumHealthy{Count: 1, Percentage: 50},
		}
	})
	changes := record[TargetGroupHealthChanged](h)
	ids := []string{"i-a", "i-b", "i-c", "i-d"}
	zones := []string{"us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b"}
	addrs := map[string]string{}
	for i, id := range ids {
		a := backend(t, id, nil)
		addrs[id] = a.String()
		h.register(id, zones[i], a)
		h.waitState(id, StateHealthy)
	}
	// Two of four fail: 50% healthy holds the threshold.
	for _, id := range ids[:2] {
		h.prober.set(mustAddrPort(addrs[id]), timeout)
	}
	h.check(4)
	h.check(4)
	h.waitState("i-a", StateUnhealthy)
	h.waitState("i-b", StateUnhealthy)
	got := servedBy(t, h, "us-east-1a", 40)
	if got["i-a"]+got["i-b"] != 0 || got["i-c"] != 20 || got["i-d"] != 20 {
		t.Fatalf("at 2 of 4 healthy the node routed %v, want only i-c and i-d", got)
	}
	if !h.lb.DNSHealthy("us-east-1a") || !h.lb.DNSHealthy("us-east-1b") {
		t.Fatal("zones left DNS at 50% healthy")
	}
	if !h.lb.RoutingHealthy("us-east-1a") {
		t.Fatal("not RoutingHealthy at 50% healthy")
	}
	// A third fails: 1 of 4 = 25% is below 50%: every node fails open and
	// every zone is unhealthy in DNS (evaluated over all zones).
	h.prober.set(mustAddrPort(addrs["i-c"]), timeout)
	h.check(4)
	h.check(4)
	h.waitState("i-c", StateUnhealthy)
	got = servedBy(t, h, "us-east-1b", 40)
	for _, id := range ids {
		if got[id] != 10 {
			t.Fatalf("failing open at 1 of 4 healthy the node routed %v, want 10 each", got)
		}
	}
	if h.lb.DNSHealthy("us-east-1a") || h.lb.DNSHealthy("us-east-1b") {
		t.Fatal("zones stayed in DNS at 25% healthy")
	}
	if h.lb.RoutingHealthy("us-east-1a") || h.lb.RoutingHealthy("us-east-1b") {
		t.Fatal("RoutingHealthy while failing open")
	}
	if z := h.lb.DNSZones(); !slices.Equal(z, []string{"us-east-1a", "us-east-1b"}) {
		t.Fatalf("DNSZones %v: with every zone unhealthy, AWS sends traffic to all zones", z)
	}
	changes.wait(t, "UnhealthyStateRouting event", func(e TargetGroupHealthChanged) bool {
		return e.Action == "routing" && e.Unhealthy && e.Healthy == 1 && e.Total == 4 &&
			strings.Contains(e.Message(), "UnhealthyStateRouting: 1 of 4 targets healthy")
	})
	changes.wait(t, "UnhealthyStateDNS event", func(e TargetGroupHealthChanged) bool { return e.Action == "dns" && e.Unhealthy })
	if m := h.lb.Nodes()[1].Metrics(); m.UnhealthyRoutingRequestCount != 40 {
		t.Fatalf("UnhealthyRoutingRequestCount %d, want 40", m.UnhealthyRoutingRequestCount)
	}
}

func TestThresholdsPerZoneWithCrossZoneOff(t *testing.T) {
	// target-group-health.html, the worked example scaled down: cross-zone
	// off, 50% for both actions, most of zone B's targets fail. Zone B is
	// pulled from DNS and its node routes to all of zone B's targets; zone A
	// is untouched.
	h := newHarness(t, func(c *Config) {
		c.CrossZone = false
		c.TargetGroupHealth = &TargetGroupHealth{
			UnhealthyStateRouting: MinimumHealthy{Count: 1, Percentage: 50},
			DNSFailover:           MinimumHealthy{Count: 1, Percentage: 50},
		}
	})
	for _, id := range []string{"a1", "a2"} {
		h.register(id, "us-east-1a", backend(t, id, nil))
	}
	bad := backend(t, "b1", nil)
	h.register("b1", "us-east-1b", bad)
	h.register("b2", "us-east-1b", backend(t, "b2", nil))
	h.register("b3", "us-east-1b", backend(t, "b3", nil))
	for _, id := range []string{"a1", "a2", "b1", "b2", "b3"} {
		h.waitState(id, StateHealthy)
	}
	b2, b3 := h.lb.targets["b2"].Addr, h.lb.targets["b3"].Addr
	h.prober.set(b2, mismatch)
	h.prober.set(b3, mismatch)
	h.check(5)
	h.check(5)
	h.waitState("b2", StateUnhealthy)
	h.waitState("b3", StateUnhealthy)
	if got := servedBy(t, h, "us-east-1b", 30); got["b1"] != 10 || got["b2"] != 10 || got["b3"] != 10 {
		t.Fatalf("zone B at 1 of 3 healthy routed %v, want all three (fail open)", got)
	}
	if got := servedBy(t, h, "us-east-1a", 20); got["a1"] != 10 || got["a2"] != 10 {
		t.Fatalf("zone A routed %v, want its own two targets only", got)
	}
	if !h.lb.DNSHealthy("us-east-1a") || h.lb.DNSHealthy("us-east-1b") {
		t.Fatalf("DNS: a %v b %v, want a in and b out", h.lb.DNSHealthy("us-east-1a"), h.lb.DNSHealthy("us-east-1b"))
	}
	if z := h.lb.DNSZones(); !slices.Equal(z, []string{"us-east-1a"}) {
		t.Fatalf("DNSZones %v, want [us-east-1a]", z)
	}
	if h.lb.DNSHealthy("us-west-2a") {
		t.Fatal("a zone without a node is healthy in DNS")
	}
}

func TestEmptyZoneLeavesDNSUnlessDNSFailoverIsOff(t *testing.T) {
	// With cross-zone off, an AZ with no healthy target is removed from DNS
	// (the default count of 1); with DNS failover off it stays.
	for _, tt := range []struct {
		name   string
		health *TargetGroupHealth
		want   bool
	}{
		{"default thresholds", nil, false},
		{"dns failover off", &TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 1}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.CrossZone, c.TargetGroupHealth = false, tt.health })
			h.register("i-a", "us-east-1a", backend(t, "a", nil))
			h.waitState("i-a", StateHealthy)
			if !h.lb.DNSHealthy("us-east-1a") {
				t.Fatal("zone a with a healthy target is out of DNS")
			}
			if got := h.lb.DNSHealthy("us-east-1b"); got != tt.want {
				t.Fatalf("empty zone b DNSHealthy = %v, want %v", got, tt.want)
			}
		})
	}
}

// serve sends n requests straight to node nd and counts who served them
// (X-Served-By; "" for the load balancer's own answers).
func serve(t *testing.T, nd *Node, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		w := httptest.NewRecorder()
		nd.ServeHTTP(w, httptest.NewRequest("GET", "http://lb/", nil))
		got[w.Header().Get("X-Served-By")]++
	}
	return got
}
