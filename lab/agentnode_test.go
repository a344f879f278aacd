package lab

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/sockowner"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
)

// A zone's node on a real agent over loopback TLS, made by
// AgentNodeFactory from the spec the controller sends: it serves clients
// at the zone's node address, routes to a real HTTP target, health-checks
// it from the agent (a failing check shows in the controller's view with
// AWS's reason code), counts its requests, stops and starts, answers a
// deregistration once drained, and closes with the run, its access log
// written in the run's directory on the agent.
func TestAgentNodeServesAndChecksItsTargets(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	ln, tok := serveNodeAgent(t, "127.0.213.0/24", dir, func(_ context.Context, runID, driver, dir string) (az.Runtime, error) {
		return process.New(process.Options{RunID: runID, StateDir: filepath.Join(dir, "state"), LogDir: filepath.Join(dir, "logs"), Logger: quiet})
	})

	// The target: a real HTTP server whose health check can be failed.
	var sick atomic.Bool
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && sick.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "hello from the target")
	})}
	go target.Serve(tl)
	t.Cleanup(func() { target.Close() })

	nodeAddr := netip.MustParseAddr("127.0.213.1")
	port := freePort(t, nodeAddr)

	ctx := context.Background()
	runID := fmt.Sprintf("node-test-%d", os.Getpid())
	r, err := agent.DialRun(ctx, ln, tok, runID, "process")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	zone := az.Zone{Name: "us-east-1a", Index: 1, Subnet: netip.MustParsePrefix("127.0.213.0/24"), Node: nodeAddr}
	other := az.Zone{Name: "us-east-1b", Index: 2, Subnet: netip.MustParsePrefix("127.0.2.0/24")}
	cfg := alb.Config{Zones: []az.Zone{other, zone}, Port: port, IdleTimeout: 60 * time.Second,
		DeregistrationDelay: 2 * time.Second, CrossZone: true, AccessLog: io.Discard,
		HealthCheck: alb.HealthCheck{Path: "/health", Interval: 5 * time.Second, Timeout: 2 * time.Second,
			Thresholds: alb.Thresholds{Healthy: 2, Unhealthy: 2}, Matches: func(c int) bool { return c == 200 }},
		GoroutineFront: true}
	node, err := openAgentNode(ctx, r, cfg, zone, mustClock(t, 20), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.AddrPortFrom(nodeAddr, uint16(port)); node.addr != want {
		t.Fatalf("node address %s, want %s", node.addr, want)
	}
	const id = az.InstanceID("i-0node1")
	if err := node.Register(ctx, alb.RemoteTarget{ID: id, Zone: zone.Name, Addr: netip.MustParseAddrPort(tl.Addr().String())}); err != nil {
		t.Fatal(err)
	}
	health := func() AgentNodeHealth {
		hs, err := node.health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 1 {
			t.Fatalf("health view %+v, want the one target", hs)
		}
		return hs[id]
	}
	waitFor(t, "the target healthy on the agent's node", 15*time.Second, func() bool { return health().State == string(alb.StateHealthy) })

	url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(nodeAddr, uint16(port)))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (int, string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	for i := 0; i < 3; i++ {
		if code, body, err := get(); err != nil || code != 200 || body != "hello from the target" {
			t.Fatalf("through the agent's node: %d %q %v", code, body, err)
		}
	}
	m, err := node.metrics(ctx)
	if err != nil || m.RequestCount != 3 || m.HTTPCode_Target_2XX_Count != 3 || m.Zone != zone.Name {
		t.Fatalf("metrics %+v, %v; want 3 requests, 3 target 2xx in %s", m, err, zone.Name)
	}

	sick.Store(true)
	waitFor(t, "the failing check seen by the agent's node", 15*time.Second, func() bool {
		h := health()
		return h.State == string(alb.StateUnhealthy) && h.Reason == string(alb.ReasonResponseCodeMismatch)
	})
	sick.Store(false)
	waitFor(t, "the target healthy again", 15*time.Second, func() bool { return health().State == string(alb.StateHealthy) })

	if err := node.SetUp(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(); err == nil {
		t.Fatal("the stopped node still answers")
	}
	if err := node.SetUp(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restarted node answering", 10*time.Second, func() bool { code, _, err := get(); return err == nil && code == 200 })

	start := time.Now()
	if err := node.Deregister(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Drained (nothing in flight); the node keeps it draining until the
	// deregistration delay ends, then forgets it, as sim/alb does locally.
	waitFor(t, "the target gone from the node after its deregistration delay", 10*time.Second, func() bool {
		left, err := node.health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range left {
			if h.State != string(alb.StateDraining) || h.Reason != string(alb.ReasonDeregistration) {
				t.Fatalf("a deregistered target seen as %+v, want draining", h)
			}
		}
		return len(left) == 0
	})
	t.Logf("deregistered, drained and forgotten in %s (delay 2 s AWS at speed 20)", time.Since(start).Round(time.Millisecond))
	if code, _, err := get(); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("after the deregistration: %d %v; want the ELB's 503 (no target)", code, err)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(); err == nil {
		t.Error("the node answers after its run ended")
	}
	b, err := os.ReadFile(filepath.Join(dir, runID, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n < 5 {
		t.Errorf("access log on the agent has %d lines, want the requests served (5 or more):\n%s", n, b)
	}
}

// serveNodeAgent serves a real agent with the lab's node factory on
// loopback until the test ends; it returns its address and token.
func serveNodeAgent(t *testing.T, subnet, dir string, newRuntime agent.RuntimeFactory) (addr string, token []byte) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tok, err := agent.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: tok, Subnet: netip.MustParsePrefix(subnet), Dir: dir, Logger: quiet,
		NewRuntime: newRuntime, NewNode: AgentNodeFactory(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), tok
}

// ownerRuntime is a runtime whose instances are two addresses, and which
// says the listener at one of them is not its instance's own (as the
// process runtime does from /proc for a server someone else runs there).
type ownerRuntime struct {
	az.Runtime
	list    []az.Instance
	foreign az.InstanceID
}

func (r ownerRuntime) List(context.Context) ([]az.Instance, error) { return r.list, nil }

func (r ownerRuntime) OwnsListener(_ context.Context, id az.InstanceID, addr netip.AddrPort) error {
	if id == r.foreign {
		return &sockowner.ForeignError{Addr: addr, PID: 4242, Comm: "squatter"}
	}
	return nil
}

// The node on an agent checks who answers at a target's address, as the
// controller's nodes do (lab/owner.go): a target whose address a foreign
// listener answers is never healthy there, and that listener gets no
// request at all (its health checks' connections close unused), while
// the instance that owns its listener passes.
func TestAgentNodeChecksWhoAnswers(t *testing.T) {
	serve := func(addr string, hits *atomic.Int64) netip.AddrPort {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); fmt.Fprint(w, "ok") })}
		go s.Serve(l)
		t.Cleanup(func() { s.Close() })
		return netip.MustParseAddrPort(l.Addr().String())
	}
	var ownHits, foreignHits atomic.Int64
	own, foreign := serve("127.0.214.10:0", &ownHits), serve("127.0.214.11:0", &foreignHits)
	rt := ownerRuntime{foreign: "i-0foreign", list: []az.Instance{
		{ID: "i-0own", Addr: own.Addr(), Port: int(own.Port()), State: az.StateRunning},
		{ID: "i-0foreign", Addr: foreign.Addr(), Port: int(foreign.Port()), State: az.StateRunning},
	}}
	ln, tok := serveNodeAgent(t, "127.0.214.0/24", t.TempDir(), func(_ context.Context, runID, _, dir string) (az.Runtime, error) {
		p, err := process.New(process.Options{RunID: runID, StateDir: filepath.Join(dir, "state"), LogDir: filepath.Join(dir, "logs"),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		rt.Runtime = p // the rest of a runtime: its instances are the two above
		return rt, err
	})

	nodeAddr := netip.MustParseAddr("127.0.214.1")
	port := freePort(t, nodeAddr)
	ctx := context.Background()
	r, err := agent.DialRun(ctx, ln, tok, fmt.Sprintf("owner-test-%d", os.Getpid()), "process")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	zone := az.Zone{Name: "us-east-1a", Index: 1, Subnet: netip.MustParsePrefix("127.0.214.0/24"), Node: nodeAddr}
	cfg := alb.Config{Zones: []az.Zone{zone}, Port: port, IdleTimeout: 60 * time.Second, DeregistrationDelay: 2 * time.Second,
		CrossZone: true, AccessLog: io.Discard,
		HealthCheck: alb.HealthCheck{Path: "/health", Interval: 5 * time.Second, Timeout: 2 * time.Second,
			Thresholds: alb.Thresholds{Healthy: 2, Unhealthy: 2}, Matches: func(c int) bool { return c == 200 }}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := openAgentNode(ctx, r, cfg, zone, mustClock(t, 20), quiet)
	if err != nil {
		t.Fatal(err)
	}
	for id, addr := range map[az.InstanceID]netip.AddrPort{"i-0own": own, "i-0foreign": foreign} {
		if err := node.Register(ctx, alb.RemoteTarget{ID: id, Zone: zone.Name, Addr: addr}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the owned target healthy and the foreign one unhealthy on the agent's node", 15*time.Second, func() bool {
		hs, err := node.health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if hs["i-0foreign"].State == string(alb.StateHealthy) {
			t.Fatalf("the target a foreign listener answers is healthy: %+v", hs["i-0foreign"])
		}
		return hs["i-0own"].State == string(alb.StateHealthy) && hs["i-0foreign"].State == string(alb.StateUnhealthy) &&
			hs["i-0foreign"].Reason == string(alb.ReasonFailedHealthChecks)
	})
	if ownHits.Load() == 0 || foreignHits.Load() != 0 {
		t.Errorf("requests: %d to the owned listener, %d to the foreign one; want some, and none", ownHits.Load(), foreignHits.Load())
	}
}

// health is the node's view of its targets, by id, as the agent's health
// view gives it (the run reads the node's state instead: agentNode.State).
func (n *agentNode) health(ctx context.Context) (map[az.InstanceID]AgentNodeHealth, error) {
	var hs []AgentNodeHealth
	if err := n.r.NodeView(ctx, "health", &hs); err != nil {
		return nil, err
	}
	out := make(map[az.InstanceID]AgentNodeHealth, len(hs))
	for _, h := range hs {
		out[az.InstanceID(h.ID)] = h
	}
	return out, nil
}

// metrics is the node's counts, as the agent's metrics view gives them.
func (n *agentNode) metrics(ctx context.Context) (alb.Snapshot, error) {
	var s alb.Snapshot
	err := n.r.NodeView(ctx, "metrics", &s)
	return s, err
}

// freePort is a port free on addr now (for a node to serve on).
func freePort(t *testing.T, addr netip.Addr) int {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func mustClock(t *testing.T, speed float64) *clock.Scaled {
	t.Helper()
	c, err := clock.NewScaled(speed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
