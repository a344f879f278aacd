package alb

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
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

// Network faults, Toxiproxy-style: each row is what the ALB answers when the
// path to a target misbehaves (AWS: a reset or refused connection is the
// ALB's own 502, a connect timeout or a target silent past the idle timeout
// its own 504), and a target outside the fault is untouched.
func TestNetworkFaultsAsTheALBAnswersThem(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    Fault
		want     int
		minDelay time.Duration
	}{
		{"connection reset: ALB 502", Fault{Reset: true}, 502, 0},
		{"target never answers: ALB 504 after the idle timeout", Fault{Hang: true}, 504, 300 * time.Millisecond},
		{"blackhole: ALB 504 after the connect timeout", Fault{Blackhole: true}, 504, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.CrossZone, c.IdleTimeout, c.ConnectTimeout = true, 300*time.Millisecond, 200*time.Millisecond
			})
			var servedB atomic.Int64
			h.register("i-a", "us-east-1a", backend(t, "a", nil))
			h.register("i-b", "us-east-1b", backend(t, "b", func(http.ResponseWriter, *http.Request) { servedB.Add(1) }))
			h.waitState("i-a", StateHealthy)
			h.waitState("i-b", StateHealthy)
			f := tc.fault
			f.Name, f.Percent, f.Targets = "chaos #1", 100, []az.InstanceID{"i-b"}
			remove, err := h.lb.InjectFault(f)
			if err != nil {
				t.Fatal(err)
			}
			node := h.lb.Nodes()[0]
			codes := map[int]int{}
			for range 4 {
				start := time.Now()
				resp, _ := get(t, node.URL()+"/")
				codes[resp.StatusCode]++
				if resp.StatusCode == tc.want {
					if d := time.Since(start); d < tc.minDelay {
						t.Fatalf("%d after %s, want at least %s", tc.want, d, tc.minDelay)
					}
					if resp.Header.Get("Server") != "awselb/2.0" {
						t.Fatalf("the %d is not the load balancer's own: %v", tc.want, resp.Header)
					}
				}
			}
			if codes[200] != 2 || codes[tc.want] != 2 || servedB.Load() != 0 {
				t.Fatalf("codes %v, target b served %d; want round robin: 2 × 200 from a, 2 × %d for b, b never reached", codes, servedB.Load(), tc.want)
			}
			if m := node.Metrics(); m.HTTPCode_ELB_5XX_Count != 2 || m.HTTPCode_Target_5XX_Count != 0 {
				t.Fatalf("ELB 5xx %d, target 5xx %d; want 2 and 0", m.HTTPCode_ELB_5XX_Count, m.HTTPCode_Target_5XX_Count)
			}
			if hits := remove(); hits != 2 {
				t.Fatalf("hits %d, want 2", hits)
			}
			for range 4 {
				if resp, _ := get(t, node.URL()+"/"); resp.StatusCode != 200 {
					t.Fatalf("after the revert: %d", resp.StatusCode)
				}
			}
			if servedB.Load() != 2 {
				t.Fatalf("after the revert target b served %d, want 2", servedB.Load())
			}
		})
	}
}

func TestBlackholeTimesOutHealthChecks(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.HealthCheck.Timeout = 50 * time.Millisecond })
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.register("i-b", "us-east-1b", backend(t, "b", nil))
	h.waitState("i-b", StateHealthy)
	remove, err := h.lb.InjectFault(Fault{Name: "partition", Zone: "us-east-1b", Percent: 100, Blackhole: true})
	if err != nil {
		t.Fatal(err)
	}
	calls := h.prober.count()
	waitFor(t, "i-b marked unhealthy by its timed-out checks", func() bool {
		h.clock.Advance(30 * time.Second)
		time.Sleep(60 * time.Millisecond) // longer than the check's timeout: the round ends
		got, _ := h.lb.Nodes()[1].Health("i-b")
		return got.State == StateUnhealthy
	})
	h.waitState("i-b", StateUnhealthy)
	h.waitState("i-a", StateHealthy)
	if got, _ := h.lb.Nodes()[0].Health("i-b"); got.Reason != ReasonTimeout {
		t.Fatalf("reason %s, want %s", got.Reason, ReasonTimeout)
	}
	if got := h.prober.count() - calls; got > 2*(defaults.Unhealthy+2) {
		t.Fatalf("%d checks reached the prober while b was blackholed; only a's should", got)
	}
	remove()
	for range defaults.Healthy {
		h.check(2)
	}
	h.waitState("i-b", StateHealthy)
}

func TestHTTPErrorFirstN(t *testing.T) {
	h := newHarness(t, nil)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	remove, err := h.lb.InjectFault(Fault{Percent: 100, Count: 3, Status: 500})
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for range 6 {
		resp, _ := get(t, h.lb.Nodes()[0].URL()+"/")
		codes = append(codes, resp.StatusCode)
	}
	if want := []int{500, 500, 500, 200, 200, 200}; !slices.Equal(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	if hits := remove(); hits != 3 {
		t.Fatalf("hits %d, want 3", hits)
	}
}

func TestBandwidthLimitsTheResponseBody(t *testing.T) {
	h := newHarness(t, nil)
	body := strings.Repeat("x", 20000)
	h.register("i-a", "us-east-1a", backend(t, "a", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	h.waitState("i-a", StateHealthy)
	node := h.lb.Nodes()[0]
	timed := func() time.Duration {
		start := time.Now()
		resp, got := get(t, node.URL()+"/")
		if resp.StatusCode != 200 || got != body {
			t.Fatalf("got %d and %d bytes", resp.StatusCode, len(got))
		}
		return time.Since(start)
	}
	remove, err := h.lb.InjectFault(Fault{Percent: 100, Bandwidth: 40000}) // 20 kB at 40 kB/s: 500 ms
	if err != nil {
		t.Fatal(err)
	}
	if d := timed(); d < 450*time.Millisecond || d > 2*time.Second {
		t.Fatalf("20 kB at 40 kB/s took %s, want about 500ms", d)
	}
	remove()
	if d := timed(); d > 200*time.Millisecond {
		t.Fatalf("after the revert 20 kB took %s", d)
	}
}
