package alb

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPErrorFaultHitsItsShareAsTargetErrors(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CrossZone = true; c.Seed = 7 })
	var served atomic.Int64
	count := func(w http.ResponseWriter, r *http.Request) { served.Add(1) }
	h.register("i-a", "us-east-1a", backend(t, "a", count))
	h.register("i-b", "us-east-1b", backend(t, "b", count))
	h.waitState("i-a", StateHealthy)
	h.waitState("i-b", StateHealthy)

	remove, err := h.lb.InjectFault(Fault{Zone: "us-east-1b", Percent: 40, Status: 503})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	node := h.lb.Nodes()[0]
	var zoneB5xx, zoneA5xx int
	for range n {
		resp, _ := get(t, node.URL()+"/")
		if resp.StatusCode == 503 {
			if resp.Header.Get("X-Lab-Fault") != "http-error" || resp.Header.Get("Server") == "awselb/2.0" {
				t.Fatalf("injected 503 does not look like a target's: %v", resp.Header)
			}
			zoneB5xx++
		}
		if resp.StatusCode == 503 && resp.Header.Get("X-Served-By") == "a" {
			zoneA5xx++
		}
	}
	hits := remove()
	// Round robin over two targets: n/2 requests go to zone b, 40% of them fail.
	if want := 0.4 * n / 2; float64(zoneB5xx) < want*0.75 || float64(zoneB5xx) > want*1.25 {
		t.Fatalf("%d of %d requests got the injected 503, want about %v", zoneB5xx, n, want)
	}
	if zoneA5xx != 0 || hits != int64(zoneB5xx) {
		t.Fatalf("zone a failures %d, hits %d, injected %d", zoneA5xx, hits, zoneB5xx)
	}
	if got := served.Load(); got != n-int64(zoneB5xx) {
		t.Fatalf("targets served %d, want %d (the failed requests never reach them)", got, n-int64(zoneB5xx))
	}
	m := node.Metrics()
	if m.HTTPCode_Target_5XX_Count != int64(zoneB5xx) || m.HTTPCode_ELB_5XX_Count != 0 || m.RequestCount != n {
		t.Fatalf("metrics: target 5xx %d, ELB 5xx %d, requests %d; want %d, 0, %d",
			m.HTTPCode_Target_5XX_Count, m.HTTPCode_ELB_5XX_Count, m.RequestCount, zoneB5xx, n)
	}

	// Reverted: no effect at all.
	if h.lb.ActiveFaults() != 0 {
		t.Fatal("the fault is still active after remove")
	}
	for range 200 {
		if resp, _ := get(t, node.URL()+"/"); resp.StatusCode != 200 {
			t.Fatalf("after revert got %d", resp.StatusCode)
		}
	}
	if remove() != hits {
		t.Fatal("a second remove changed the count")
	}
}

func TestLatencyFaultDelaysRequestsUntilRemoved(t *testing.T) {
	h := newHarness(t, nil)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	node := h.lb.Nodes()[0]
	timed := func() time.Duration {
		start := time.Now()
		if resp, _ := get(t, node.URL()+"/"); resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	remove, err := h.lb.InjectFault(Fault{Percent: 100, Latency: 150 * time.Millisecond, Jitter: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	before := node.Metrics()
	for range 10 {
		if d := timed(); d < 120*time.Millisecond || d > 400*time.Millisecond {
			t.Fatalf("request took %s with 150ms ± 30ms injected", d)
		}
	}
	after := node.Metrics()
	avg := (after.TargetResponseTimeTotal - before.TargetResponseTimeTotal) / time.Duration(after.TargetResponses-before.TargetResponses)
	if avg < 120*time.Millisecond {
		t.Fatalf("TargetResponseTime %s does not show the added latency", avg)
	}
	if hits := remove(); hits != 10 {
		t.Fatalf("hits %d, want 10", hits)
	}
	for range 10 {
		if d := timed(); d > 100*time.Millisecond {
			t.Fatalf("request took %s after the fault was removed", d)
		}
	}
}

func TestLatencyFaultSparesOtherZonesAndPercent(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CrossZone = false })
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	remove, err := h.lb.InjectFault(Fault{Zone: "us-east-1b", Percent: 100, Latency: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	start := time.Now()
	get(t, h.lb.Nodes()[0].URL()+"/")
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("a zone-b fault delayed a zone-a target by %s", d)
	}
	if remove() != 0 {
		t.Fatal("a fault on an empty zone counted hits")
	}
}

func TestInjectFaultRefusesNonsense(t *testing.T) {
	h := newHarness(t, nil)
	for _, f := range []Fault{
		{Percent: 0, Status: 503},
		{Percent: 101, Status: 503},
		{Percent: 50},
		{Percent: 50, Status: 42},
		{Percent: 50, Latency: time.Millisecond, Jitter: time.Second},
		{Percent: 50, Status: 503, Zone: "eu-west-1a"},
	} {
		if _, err := h.lb.InjectFault(f); err == nil {
			t.Errorf("%+v was accepted", f)
		}
	}
	if h.lb.ActiveFaults() != 0 {
		t.Fatal("a refused fault is active")
	}
}

// nopRT answers every request without allocating.
type nopRT struct{ resp *http.Response }

func (n nopRT) RoundTrip(*http.Request) (*http.Response, error) { return n.resp, nil }

func TestNoFaultCostsNoAllocation(t *testing.T) {
	h := newHarness(t, nil)
	ft := faultTransport{n: h.lb.Nodes()[0], zone: "us-east-1a", next: nopRT{&http.Response{StatusCode: 200}}}
	req, _ := http.NewRequest("GET", "http://x/", nil)
	if a := testing.AllocsPerRun(1000, func() { ft.RoundTrip(req) }); a != 0 {
		t.Fatalf("%v allocations per request with no fault active", a)
	}
}
