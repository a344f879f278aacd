package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/stack"
)

// A server that is not the instance's own answers on the instance's
// address (the instance itself never listens): the target must never be
// marked healthy, nor sent traffic, on that server's word. Before the
// owner check, its 200s made the target healthy.
func TestForeignListenerIsNeverHealthy(t *testing.T) {
	const port = 18533
	var hits atomic.Int64
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.1.10:%d", port)) // zone a's first instance address
	if err != nil {
		t.Fatal(err)
	}
	foreign := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go foreign.Serve(ln)
	defer foreign.Close()

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
	waitFor(t, "the instance in service, and every node to see it unhealthy", 20*time.Second, func() bool {
		ins := l.Instances()
		return len(ins) == 1 && ins[0].State == "InService" && everyNodeSees(l.LB, ins[0].ID, alb.StateUnhealthy)
	})
	id := l.Instances()[0].ID
	if l.Instances()[0].Addr.String() != "127.0.1.10:18533" {
		t.Fatalf("the instance is at %s, not the foreign listener's address", l.Instances()[0].Addr)
	}
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
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.1.10:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	foreign := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go foreign.Serve(ln)
	defer foreign.Close()

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
	waitFor(t, "the instance in service, and every node to see it unhealthy", 20*time.Second, func() bool {
		ins := l.Instances()
		return len(ins) == 1 && ins[0].State == "InService" && everyNodeSees(l.LB, ins[0].ID, alb.StateUnhealthy)
	})
	if got := l.Instances()[0].Addr.String(); got != fmt.Sprintf("127.0.1.10:%d", port) {
		t.Fatalf("the instance is at %s, not the foreign listener's address", got)
	}
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
