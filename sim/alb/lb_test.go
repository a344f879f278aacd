package alb

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/az"
)

// fakeProber answers health checks from a table the test controls.
type fakeProber struct {
	mu      sync.Mutex
	results map[netip.AddrPort]Result
	calls   int
}

func (p *fakeProber) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func (p *fakeProber) set(a netip.AddrPort, r Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results[a] = r
}

func (p *fakeProber) Probe(_ context.Context, a netip.AddrPort) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if r, ok := p.results[a]; ok {
		return r
	}
	return pass
}

type harness struct {
	t      testing.TB
	lb     *LoadBalancer
	clock  *clock.Fake
	prober *fakeProber
	bus    *events.Bus
}

func newHarness(t testing.TB, mut func(*Config)) *harness {
	t.Helper()
	zones, err := az.NewZones([]string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock.NewFake(time.Unix(0, 0)), prober: &fakeProber{results: map[netip.AddrPort]Result{}}}
	h.bus = events.NewBus(h.clock)
	cfg := Config{
		Zones: zones, Port: 0, IdleTimeout: 2 * time.Second, DeregistrationDelay: 300 * time.Second, CrossZone: true,
		HealthCheck: HealthCheck{Path: "/health", Interval: 30 * time.Second, Timeout: 5 * time.Second, Thresholds: defaults},
		Clock:       h.clock, Events: h.bus, Prober: h.prober,
		GoroutineFront: goroutineFrontTests, // ALB_FRONT=goroutine: every test with the goroutine front alone (evloop_test.go)
	}
	if mut != nil {
		mut(&cfg)
	}
	lb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.lb = lb
	t.Cleanup(func() { lb.Close(); h.bus.Close() })
	return h
}

// backend is a real HTTP server that names itself in X-Served-By.
func backend(t testing.TB, name string, h http.HandlerFunc) netip.AddrPort {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

func (h *harness) register(id, zone string, a netip.AddrPort) {
	h.t.Helper()
	if err := h.lb.Register(az.InstanceID(id), zone, a); err != nil {
		h.t.Fatal(err)
	}
	// Wait for every node's first check, so its ticker is running.
	waitFor(h.t, id+" first checks", func() bool {
		for _, n := range h.lb.Nodes() {
			if got, _ := n.Health(az.InstanceID(id)); got.Reason == ReasonRegistrationInProgress {
				return false
			}
		}
		return true
	})
}

// waitState waits until every node sees target id in state s.
func (h *harness) waitState(id string, s State) {
	h.t.Helper()
	waitFor(h.t, string(id)+" "+string(s), func() bool {
		for _, n := range h.lb.Nodes() {
			if got, _ := n.Health(az.InstanceID(id)); got.State != s {
				return false
			}
		}
		return true
	})
}

// check runs one round of health checks: every node checks each of the
// targets it still watches, and check waits until they all have started.
func (h *harness) check(targets int) {
	h.t.Helper()
	want := h.prober.count() + targets*len(h.lb.Nodes())
	h.clock.Advance(30 * time.Second)
	waitFor(h.t, "a round of health checks", func() bool { return h.prober.count() >= want })
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestNoRegisteredTargetsIs503(t *testing.T) {
	h := newHarness(t, nil)
	resp, body := get(t, h.lb.Nodes()[0].URL()+"/")
	if resp.StatusCode != 503 || !strings.Contains(body, "503 Service Temporarily Unavailable") || resp.Header.Get("Server") != "awselb/2.0" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if m := h.lb.Nodes()[0].Metrics(); m.HTTPCode_ELB_503_Count != 1 || m.RequestCount != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestRoundRobinSkipsUnhealthyAndDrainingTargets(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := backend(t, "a", nil), backend(t, "b", nil), backend(t, "c", nil)
	h.register("i-a", "us-east-1a", a)
	h.register("i-b", "us-east-1b", b)
	h.register("i-c", "us-east-1a", c)
	for _, id := range []string{"i-a", "i-b", "i-c"} {
		h.waitState(id, StateHealthy)
	}
	h.prober.set(b, timeout)
	h.check(3)
	h.check(3)
	h.waitState("i-b", StateUnhealthy)
	if got := h.lb.Health("i-b")["us-east-1a"]; got.Reason != ReasonTimeout {
		t.Fatalf("reason %s", got)
	}
	if _, err := h.lb.Deregister("i-c"); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-c", StateDraining)
	for _, n := range h.lb.Nodes() {
		for i := 0; i < 4; i++ {
			resp, _ := get(t, n.URL()+"/")
			if by := resp.Header.Get("X-Served-By"); by != "a" {
				t.Fatalf("node %s request %d served by %q, want only a", n.Zone(), i, by)
			}
		}
	}
}

func TestEveryNodeChecksEveryTargetOnItsOwn(t *testing.T) {
	h := newHarness(t, nil)
	var mu sync.Mutex
	agents := map[string]int{}
	a := backend(t, "a", nil)
	hc := backend(t, "hc", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents[r.Header.Get("User-Agent")]++
		mu.Unlock()
	})
	h.lb.prober = NewHTTPProber("/health", time.Second, func(c int) bool { return c == 200 })
	h.register("i-a", "us-east-1a", a)
	h.register("i-hc", "us-east-1a", hc)
	h.waitState("i-hc", StateHealthy)
	mu.Lock()
	defer mu.Unlock()
	if agents["ELB-HealthChecker/2.0"] != 2 {
		t.Fatalf("health checks seen %v, want 2 (one per node)", agents)
	}
}

func TestFailOpenRoutesToAllWhenNoneHealthy(t *testing.T) {
	h := newHarness(t, nil)
	a, b := backend(t, "a", nil), backend(t, "b", nil)
	h.prober.set(a, mismatch)
	h.prober.set(b, mismatch)
	h.register("i-a", "us-east-1a", a)
	h.register("i-b", "us-east-1b", b)
	h.check(2)
	h.waitState("i-a", StateUnhealthy)
	h.waitState("i-b", StateUnhealthy)
	seen := map[string]bool{}
	url := h.lb.Nodes()[0].URL()
	for i := 0; i < 4; i++ {
		resp, _ := get(t, url+"/")
		if resp.StatusCode != 200 {
			t.Fatalf("fail-open request got %d", resp.StatusCode)
		}
		seen[resp.Header.Get("X-Served-By")] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("fail-open reached %v, want both", seen)
	}
	if m := h.lb.Nodes()[0].Metrics(); m.UnhealthyRoutingRequestCount != 4 || m.UnHealthyHostCount["us-east-1a"] != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestCrossZoneOffKeepsTrafficInZone(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CrossZone = false })
	a := backend(t, "a", nil)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	if resp, _ := get(t, h.lb.Nodes()[0].URL()+"/"); resp.Header.Get("X-Served-By") != "a" {
		t.Fatal("zone a's node did not route to its own target")
	}
	if resp, _ := get(t, h.lb.Nodes()[1].URL()+"/"); resp.StatusCode != 503 {
		t.Fatalf("empty zone b answered %d, want 503", resp.StatusCode)
	}
}

func TestRefusedConnectionIs502(t *testing.T) {
	h := newHarness(t, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	h.register("i-dead", "us-east-1a", dead) // the fake prober still says it passes
	h.waitState("i-dead", StateHealthy)
	resp, body := get(t, h.lb.Nodes()[0].URL()+"/")
	if resp.StatusCode != 502 || !strings.Contains(body, "502 Bad Gateway") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if m := h.lb.Nodes()[0].Metrics(); m.HTTPCode_ELB_502_Count != 1 || m.HTTPCode_ELB_5XX_Count != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestSilentTargetIs504AfterIdleTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	release := make(chan struct{})
	defer close(release)
	slow := backend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	h.register("i-slow", "us-east-1a", slow)
	h.waitState("i-slow", StateHealthy)
	resp, body := get(t, h.lb.Nodes()[0].URL()+"/")
	if resp.StatusCode != 504 || !strings.Contains(body, "504 Gateway Time-out") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestTargetErrorsPassThroughUnchanged(t *testing.T) {
	h := newHarness(t, nil)
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	resp, _ := get(t, h.lb.Nodes()[0].URL()+"/")
	m := h.lb.Nodes()[0].Metrics()
	if resp.StatusCode != 503 || m.HTTPCode_Target_5XX_Count != 1 || m.HTTPCode_ELB_5XX_Count != 0 {
		t.Fatalf("got %d, metrics %+v", resp.StatusCode, m)
	}
}

func TestForwardedHeaders(t *testing.T) {
	h := newHarness(t, nil)
	got := make(chan http.Header, 1)
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() })
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	req, _ := http.NewRequest("GET", n.URL()+"/x", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hd := <-got
	port := n.URL()[strings.LastIndex(n.URL(), ":")+1:]
	if hd.Get("X-Forwarded-For") != "203.0.113.7, 127.0.0.1" || hd.Get("X-Forwarded-Proto") != "http" || hd.Get("X-Forwarded-Port") != port {
		t.Fatalf("headers %v", hd)
	}
}

func TestDrainingLetsInFlightRequestsFinish(t *testing.T) {
	h := newHarness(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
	})
	b := backend(t, "b", nil)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	url := h.lb.Nodes()[0].URL()
	done := make(chan int)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-started
	h.register("i-b", "us-east-1b", b)
	h.waitState("i-b", StateHealthy)
	drained, err := h.lb.Deregister("i-a")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if resp, _ := get(t, url+"/"); resp.Header.Get("X-Served-By") != "b" {
			t.Fatal("a draining target got a new request")
		}
	}
	select {
	case <-drained:
		t.Fatal("drained while a request was in flight")
	default:
	}
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("in-flight request got %d, want 200", code)
	}
	<-drained
	h.waitState("i-a", StateDraining) // still shown draining until the delay ends
	h.clock.Advance(300 * time.Second)
	waitFor(t, "i-a removed", func() bool { _, ok := h.lb.Nodes()[0].Health("i-a"); return !ok })
}

func TestDelayEndingMidRequestIs502(t *testing.T) {
	h := newHarness(t, nil)
	started := make(chan struct{})
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-r.Context().Done()
		}
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	done := make(chan int)
	go func() {
		resp, err := http.Get(h.lb.Nodes()[0].URL() + "/slow")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-started
	drained, _ := h.lb.Deregister("i-a")
	h.clock.Advance(300 * time.Second)
	if code := <-done; code != 502 {
		t.Fatalf("request cut by the end of the delay got %d, want 502", code)
	}
	<-drained
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
