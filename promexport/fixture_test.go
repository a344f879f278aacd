package promexport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

// failingProber fails the health checks of the addresses in fail and
// passes every other.
type failingProber struct {
	mu   sync.Mutex
	fail map[netip.AddrPort]bool
}

func (p *failingProber) Probe(_ context.Context, a netip.AddrPort) alb.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail[a] {
		return alb.Result{OK: false, Reason: alb.ReasonFailedHealthChecks, Detail: "Health checks failed"}
	}
	return alb.Result{OK: true}
}

// fixture is a load balancer with nodes in zones, targets spread over them
// and over groups target groups (the own one "web", then "api", "img", ...,
// each behind a path rule /NAME/*), every fifth target failing its health
// checks, and some traffic through every node. Its clock is a fake one
// advanced until every target's health has settled, so that nothing runs
// in the background while a benchmark measures.
type fixture struct {
	lb      *alb.LoadBalancer
	groups  []string
	targets int
}

func newFixture(tb testing.TB, zones, groups, targets int) *fixture {
	tb.Helper()
	names := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"}[:zones]
	zs, err := az.NewZones(names)
	if err != nil {
		tb.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	bus := events.NewBus(clk)
	tb.Cleanup(func() { bus.Close() })
	hc := alb.HealthCheck{Path: "/", Interval: 5 * time.Second, Timeout: 2 * time.Second,
		Thresholds: alb.Thresholds{Healthy: 2, Unhealthy: 2}, Matches: func(c int) bool { return c == 200 }}
	probes := &failingProber{fail: map[netip.AddrPort]bool{}}
	gnames := []string{"web"}
	var others []alb.TargetGroupConfig
	var rules []alb.Rule
	for i := 1; i < groups; i++ {
		name := fmt.Sprintf("g%d", i)
		gnames = append(gnames, name)
		others = append(others, alb.TargetGroupConfig{Name: name, HealthCheck: hc, Prober: probes})
		rules = append(rules, alb.Rule{Priority: i, Conditions: []alb.Condition{{Field: alb.FieldPathPattern, Values: []string{"/" + name + "/*"}}},
			Action: alb.RuleAction{Type: alb.ActionForward, TargetGroup: name}})
	}
	lb, err := alb.New(alb.Config{
		Zones: zs, Port: 0, IdleTimeout: 60 * time.Second, DeregistrationDelay: 300 * time.Second, CrossZone: true,
		HealthCheck: hc, Prober: probes, Clock: clk, Events: bus, Name: "shop", Seed: 7,
		TargetGroupName: gnames[0], TargetGroups: others, Rules: rules,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { lb.Close() })
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("code") {
		case "404":
			w.WriteHeader(404)
		case "500":
			w.WriteHeader(500)
		}
	}))
	tb.Cleanup(backend.Close)
	want := map[az.InstanceID]alb.State{}
	for i := 0; i < targets; i++ {
		// every target is the one backend, on an address of its own in
		// 127.0.0.0/8 (the backend listens on 127.0.0.1 alone: the
		// others' checks are the prober's, their traffic goes nowhere)
		addr := netip.MustParseAddrPort(backend.Listener.Addr().String())
		if i > 0 {
			addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 200, byte(i)}), 9)
		}
		id := az.InstanceID(fmt.Sprintf("i-%03d", i))
		want[id] = alb.StateHealthy
		if i%5 == 4 {
			probes.mu.Lock()
			probes.fail[addr] = true
			probes.mu.Unlock()
			want[id] = alb.StateUnhealthy
		}
		if err := lb.RegisterIn(gnames[i%groups], id, names[i%zones], addr); err != nil {
			tb.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !settled(lb, want) {
		if time.Now().After(deadline) {
			tb.Fatalf("health did not settle: %v", healthOf(lb))
		}
		clk.Advance(hc.Interval)
		time.Sleep(time.Millisecond)
	}
	// some traffic through every node: 2XX, 4XX and 5XX from the one
	// backend target; the other groups' requests find no target on
	// 127.0.0.1 alone when their targets are elsewhere (502/503)
	client := &http.Client{Timeout: 5 * time.Second}
	for _, n := range lb.Nodes() {
		for _, p := range []string{"/", "/?code=404", "/?code=500", "/g1/x", "/"} {
			resp, err := client.Get(n.URL() + p)
			if err != nil {
				tb.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	client.CloseIdleConnections()
	return &fixture{lb: lb, groups: gnames, targets: targets}
}

func settled(lb *alb.LoadBalancer, want map[az.InstanceID]alb.State) bool {
	for id, s := range want {
		hs := lb.Health(id)
		if len(hs) != len(lb.Nodes()) {
			return false
		}
		for _, h := range hs {
			if h.State != s {
				return false
			}
		}
	}
	return true
}

func healthOf(lb *alb.LoadBalancer) map[string]string {
	out := map[string]string{}
	for _, t := range lb.Targets() {
		for zone, h := range lb.Health(t.ID) {
			out[string(t.ID)+"@"+zone] = string(h.State)
		}
	}
	return out
}

// disturb deregisters the first target (draining: neither healthy nor
// unhealthy) and stops the last zone's node (its views no longer count).
func (f *fixture) disturb(tb testing.TB) {
	tb.Helper()
	if _, err := f.lb.Deregister("i-000"); err != nil {
		tb.Fatal(err)
	}
	nodes := f.lb.Nodes()
	if err := f.lb.StopNode(nodes[len(nodes)-1].Zone()); err != nil {
		tb.Fatal(err)
	}
}
