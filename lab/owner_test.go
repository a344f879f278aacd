package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/sockowner"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// serveForeign waits until the group's one instance has address addr and
// has booted (the lab holds a pending instance's address until then, and
// skips one another program holds: lab/addrguard.go), then serves on addr
// from this test, a program that is not the instance: what a server of
// someone else's that grabs a free instance address looks like. It returns
// the server's stop.
func serveForeign(t *testing.T, l *Lab, addr string, hits *atomic.Int64) func() {
	t.Helper()
	waitFor(t, "the instance at "+addr, 20*time.Second, func() bool {
		ins := l.Instances()
		return len(ins) == 1 && ins[0].Addr.String() == addr
	})
	var ln net.Listener
	waitFor(t, "the instance's address free for a foreign server", 20*time.Second, func() bool {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	foreign := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go foreign.Serve(ln)
	return func() { foreign.Close() }
}

// A server that is not the instance's own answers on the instance's
// address (the instance itself never listens; the server takes the
// address once the instance has it): the target must never be marked
// healthy, nor sent traffic, on that server's word. Before the owner
// check, its 200s made the target healthy.
func TestForeignListenerIsNeverHealthy(t *testing.T) {
	const port = 18533
	var hits atomic.Int64

	s, err := stack.Parse("foreign.yaml", []byte(fmt.Sprintf(`name: foreign
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [sleep, "600"]
  pending_time: 0s
auto_scaling_group: {min_size: 1, max_size: 1, desired_capacity: 1}
`, port, port)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notes []string
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverProcess,
		Subscribers: []events.Handler{func(e events.Envelope) {
			if n, ok := e.Event.(Note); ok {
				mu.Lock()
				notes = append(notes, n.Text)
				mu.Unlock()
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer serveForeign(t, l, fmt.Sprintf("127.0.1.10:%d", port), &hits)()
	waitFor(t, "the instance in service, every node to see it unhealthy, and the foreign listener named", 20*time.Second, func() bool {
		ins := l.Instances()
		mu.Lock()
		named := slices.ContainsFunc(notes, func(n string) bool {
			return strings.Contains(n, "is answered by a listener that is not the instance's own")
		})
		mu.Unlock()
		return named && len(ins) == 1 && ins[0].State == "InService" && everyNodeSees(l.LB, ins[0].ID, alb.StateUnhealthy)
	})
	id := l.Instances()[0].ID
	for _, n := range l.LB.Nodes() {
		if h, _ := n.Health(id); h.Reason != alb.ReasonFailedHealthChecks {
			t.Errorf("node %s: reason %s, want %s", n.Zone(), h.Reason, alb.ReasonFailedHealthChecks)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign server got %d request(s); want none", n)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, n := range notes {
		if strings.Contains(n, "Target "+string(id)+" fails its health checks: instance "+string(id)+": 127.0.1.10:18533 is answered by a listener that is not the instance's own: pid ") {
			found = true
		}
	}
	if !found {
		t.Errorf("no note names the foreign listener; notes: %q", notes)
	}
}

// Every target of the group is unhealthy, so each node fails open and
// routes to all of them, as AWS does: the one whose address a foreign
// server answers still gets nothing. Its requests get the ALB's 502 (the
// node refuses to dial it) and the foreign server sees none of them.
func TestForeignListenerGetsNoTrafficFailingOpen(t *testing.T) {
	const port = 18534
	var hits atomic.Int64

	s, err := stack.Parse("foreign.yaml", []byte(fmt.Sprintf(`name: foreign
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [sleep, "600"]
  pending_time: 0s
auto_scaling_group: {min_size: 1, max_size: 1, desired_capacity: 1}
`, port, port)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverProcess})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer serveForeign(t, l, fmt.Sprintf("127.0.1.10:%d", port), &hits)()
	waitFor(t, "the instance in service, and every node to see it unhealthy", 20*time.Second, func() bool {
		ins := l.Instances()
		return len(ins) == 1 && ins[0].State == "InService" && everyNodeSees(l.LB, ins[0].ID, alb.StateUnhealthy)
	})
	client := &http.Client{Timeout: 5 * time.Second}
	const perNode = 5
	for _, n := range l.LB.Nodes() {
		for i := 0; i < perNode; i++ {
			resp, err := client.Get(n.URL() + "/todos")
			if err != nil {
				t.Fatalf("node %s: %v", n.Zone(), err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("node %s: %d, want 502 (the only target's address is answered by a foreign listener)", n.Zone(), resp.StatusCode)
			}
		}
		if m := n.Metrics(); m.UnhealthyRoutingRequestCount != perNode {
			t.Errorf("node %s: UnhealthyRoutingRequestCount %d, want %d (failing open)", n.Zone(), m.UnhealthyRoutingRequestCount, perNode)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign server got %d request(s) while the nodes failed open; want none", n)
	}
}

// ownerAfter answers "the instance's own" to its first n questions and
// "another's" after: a foreign server that takes the address between the
// check before a health check and the check's connect.
type ownerAfter struct {
	n     int
	calls atomic.Int64
}

func (o *ownerAfter) OwnsListener(_ context.Context, _ az.InstanceID, addr netip.AddrPort) error {
	if o.calls.Add(1) <= int64(o.n) {
		return nil
	}
	return &sockowner.ForeignError{Addr: addr, PID: 1, Comm: "foreign"}
}

// A listener that answers at the target's address once the check before
// the probe has passed gets no request: the probe's dial asks again once
// connected, before it writes, and the check fails.
func TestOwnedProberChecksAgainOnceConnected(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	target := netip.MustParseAddrPort(srv.Listener.Addr().String())
	owner := &ownerAfter{n: 1}
	var said []string
	p := &ownedProber{
		owner:    owner,
		at:       func(a netip.Addr) (az.InstanceID, bool) { return "i-1", a == target.Addr() },
		say:      func(format string, args ...any) { said = append(said, fmt.Sprintf(format, args...)) },
		now:      time.Now,
		warned:   map[az.InstanceID]bool{},
		verdicts: map[az.InstanceID]ownerVerdict{},
	}
	p.next = alb.NewHTTPProberDial("/health", 2*time.Second, func(c int) bool { return c == 200 }, p.dialChecked((&net.Dialer{}).DialContext))
	res := p.Probe(context.Background(), target)
	if res.OK || res.Reason != alb.ReasonFailedHealthChecks {
		t.Errorf("probe: %+v, want %s", res, alb.ReasonFailedHealthChecks)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign listener got %d request(s); want none", n)
	}
	if owner.calls.Load() != 2 || len(said) != 1 {
		t.Errorf("owner asked %d times (want 2: before the probe, once connected); said %q", owner.calls.Load(), said)
	}
	// The instance's own listener passes both checks and is probed.
	owner.n, owner.calls = 1<<30, atomic.Int64{}
	p.verdicts = map[az.InstanceID]ownerVerdict{}
	if res := p.Probe(context.Background(), target); !res.OK || hits.Load() != 1 {
		t.Errorf("the instance's own listener: %+v, %d request(s); want healthy, 1", res, hits.Load())
	}
}
