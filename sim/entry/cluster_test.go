package entry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

type nopPublisher struct{}

func (nopPublisher) Publish(events.Event) {}

var zoneNames = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tier is three real ALB nodes on 127.0.N.1 with a real target in each
// zone, their memberlist cluster, and the DNS server.
type tier struct {
	lb      *alb.LoadBalancer
	cluster *Cluster
	dns     *DNSServer
	port    string
	addrs   map[string]netip.Addr // node address by zone
	removed chan string           // zones the observer's failure detector removed
	added   chan string
}

func startTier(t *testing.T, c clock.Clock) *tier {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() { // runs last: everything the tier started has ended
		waitFor(t, 5*time.Second, "every goroutine of the tier ends", func() bool { return runtime.NumGoroutine() <= before })
	})
	zones, err := az.NewZones(zoneNames)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := alb.New(alb.Config{
		Zones: zones, Port: sharedPort(t, zones), IdleTimeout: 60 * time.Second, DeregistrationDelay: 30 * time.Second, CrossZone: true,
		HealthCheck: alb.HealthCheck{Path: "/health", Interval: 5 * time.Second, Timeout: 2 * time.Second,
			Thresholds: alb.Thresholds{Healthy: 2, Unhealthy: 2}, Matches: func(c int) bool { return c == 200 }},
		Clock: c, Events: nopPublisher{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	for i, z := range zones {
		ln, err := net.Listen("tcp", netip.AddrFrom4([4]byte{127, 0, byte(z.Index), 10}).String()+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "target in %s", z.Name)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		id := az.InstanceID(fmt.Sprintf("i-%017d", i+1))
		if err := lb.Register(id, z.Name, ln.Addr().(*net.TCPAddr).AddrPort()); err != nil {
			t.Fatal(err)
		}
	}
	tr := &tier{lb: lb, addrs: map[string]netip.Addr{}, removed: make(chan string, 16), added: make(chan string, 16)}
	var specs []NodeSpec
	var records []Record
	for _, n := range lb.Nodes() {
		ap := n.AddrPort()
		tr.port = fmt.Sprint(ap.Port())
		tr.addrs[n.Zone()] = ap.Addr()
		specs = append(specs, NodeSpec{Zone: n.Zone(), Addr: ap.Addr(), Source: n})
		records = append(records, Record{Zone: n.Zone(), Addr: ap.Addr()})
	}
	if tr.cluster, err = StartCluster(ClusterConfig{Nodes: specs, Switch: lb, Clock: c}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.cluster.Close() })
	tr.dns, err = StartDNS(DNSConfig{
		Name: LoadBalancerName("simplydone", 1234567890, zoneNames[0]), Records: records, Peers: tr.cluster.Peers(), Clock: c, Gossip: tr.cluster.Gossip(),
		OnChange: func(zone string, alive bool) {
			if alive {
				tr.added <- zone
			} else {
				tr.removed <- zone
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.dns.Close() })
	waitFor(t, 10*time.Second, "the observer sees the three nodes", func() bool { return len(tr.dns.Live()) == 3 })
	return tr
}

// sharedPort finds a port free on every zone's node address: the ALB's
// nodes share the listener port, as the DNS name's clients expect.
func sharedPort(t *testing.T, zones []az.Zone) int {
	t.Helper()
	for try := 0; try < 20; try++ {
		ln, err := net.Listen("tcp", zones[0].NodeAddr().String()+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{ln}
		free := true
		for _, z := range zones[1:] {
			l, err := net.Listen("tcp", netip.AddrPortFrom(z.NodeAddr(), uint16(port)).String())
			if err != nil {
				free = false
				break
			}
			lns = append(lns, l)
		}
		for _, l := range lns {
			l.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no port free on every node address")
	return 0
}

func (tr *tier) target() string { return net.JoinHostPort(tr.dns.Name(), tr.port) }

func has(addrs []netip.Addr, a netip.Addr) bool { return slices.Contains(addrs, a) }

// TestZoneFailureLeavesDNSOnlyThroughTheFailureDetector kills one of three
// nodes without a Leave. The DNS answer keeps it until the observer's
// failure detector declares it dead; a client that cached the answer keeps
// dialling it (and failing) until the TTL passes, then gets only live
// nodes; a person on the stable URL never sees an error. Then the zone
// comes back and DNS hands it out again.
func TestZoneFailureLeavesDNSOnlyThroughTheFailureDetector(t *testing.T) {
	c, err := clock.NewScaled(20) // TTL 60 AWS s = 3 wall s
	if err != nil {
		t.Fatal(err)
	}
	tr := startTier(t, c)
	ctx := context.Background()
	dead, deadAddr := zoneNames[1], tr.addrs[zoneNames[1]]
	if got := tr.dns.TTL(); got != 3 {
		t.Fatalf("TTL %d s at speed 20, want 3 (60 AWS seconds)", got)
	}

	door, err := StartFrontDoor(FrontDoorConfig{Addr: "127.0.0.1:0", Target: tr.target(),
		Dialer: &Dialer{Resolver: NewResolver(tr.dns.Addr(), nil), Name: tr.dns.Name()}})
	if err != nil {
		t.Fatal(err)
	}
	defer door.Close()
	// A person refreshing the stable URL throughout, each time on a new
	// connection so that every request dials through the entry.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := client.Get(door.URL())
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			} else {
				ok.Add(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, 5*time.Second, "the stable URL answers", func() bool { return ok.Load() > 3 })

	// The zone fails.
	r := NewResolver(tr.dns.Addr(), nil)
	client := &Dialer{Resolver: r, Name: tr.dns.Name(), Client: OneAddress} // a client that does not retry: no skipping
	killed := time.Now()
	if err := tr.cluster.StopZone(dead); err != nil {
		t.Fatal(err)
	}
	first, err := NewResolver(tr.dns.Addr(), nil).Lookup(ctx, tr.dns.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !has(first.Addrs, deadAddr) || !tr.dns.Observer().Alive()[dead] {
		t.Fatalf("right after the kill DNS answered %v (observer alive: %v): the node left before the failure detector acted",
			first.Addrs, tr.dns.Observer().Alive())
	}
	// The client resolves shortly before the soonest the detector can act
	// (a probe timeout plus the shortest suspicion), so its cached answer
	// outlives the detection.
	d := tr.cluster.Durations()
	time.Sleep(time.Until(killed.Add(time.Duration(d.SuspicionMult) * d.ProbeInterval * 9 / 10)))
	cached, err := r.Lookup(ctx, tr.dns.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !has(cached.Addrs, deadAddr) || !tr.dns.Observer().Alive()[dead] {
		t.Fatalf("%s after the kill DNS answered %v (observer alive: %v): quicker than memberlist's shortest suspicion",
			time.Since(killed), cached.Addrs, tr.dns.Observer().Alive())
	}

	var detected time.Time
	select {
	case z := <-tr.removed:
		detected = time.Now()
		if z != dead {
			t.Fatalf("the observer removed %s, want %s", z, dead)
		}
		// drain the startup joins: from here on, tr.added is the rejoin
		for len(tr.added) > 0 {
			<-tr.added
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the failure detector never removed the dead node")
	}
	took := detected.Sub(killed)
	t.Logf("speed 20: probe interval %s, probe timeout %s, suspicion >= %d intervals; failure detected after %s (%.0f AWS s); DNS TTL %d s",
		d.ProbeInterval, d.ProbeTimeout, d.SuspicionMult, took.Round(time.Millisecond), took.Seconds()*20, tr.dns.TTL())
	if min := time.Duration(d.SuspicionMult) * d.ProbeInterval; took < min {
		t.Fatalf("removed after %s, quicker than memberlist's shortest suspicion (%s): a shortcut told the observer", took, min)
	}
	fresh, err := NewResolver(tr.dns.Addr(), nil).Lookup(ctx, tr.dns.Name())
	if err != nil {
		t.Fatal(err)
	}
	if has(fresh.Addrs, deadAddr) || len(fresh.Addrs) != 2 {
		t.Fatalf("after detection DNS answers %v, want the two live nodes", fresh.Addrs)
	}

	// The cached answer still holds the dead address until its TTL passes,
	// and dialling it is refused: the AWS client's errors.
	if !time.Now().Before(cached.Expires) {
		t.Fatalf("detection (%s) outlasted the TTL (%s): the cached window cannot be shown", took, cached.TTL)
	}
	again, err := r.Lookup(ctx, tr.dns.Name())
	if err != nil || !again.Cached || !has(again.Addrs, deadAddr) {
		t.Fatalf("within the TTL the client's answer is %+v (%v), want the cached one with the dead node", again, err)
	}
	refused := 0
	for i := 0; i < 6; i++ {
		conn, err := client.DialContext(ctx, "tcp", tr.target())
		if err == nil {
			conn.Close()
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial within the TTL: %v, want connection refused", err)
		}
		refused++
	}
	if refused != 2 { // round robin over three cached addresses, one dead
		t.Fatalf("%d of 6 dials refused within the TTL, want 2", refused)
	}
	// The default client, on the same cached answer, tries the next
	// address when one refuses: every dial gets through.
	retrying := &Dialer{Resolver: r, Name: tr.dns.Name()}
	for i := 0; i < 6; i++ {
		conn, err := retrying.DialContext(ctx, "tcp", tr.target())
		if err != nil {
			t.Fatalf("a client that tries the next address, within the TTL: %v", err)
		}
		conn.Close()
	}

	time.Sleep(time.Until(cached.Expires)) // the TTL's own deadline
	after, err := r.Lookup(ctx, tr.dns.Name())
	if err != nil || after.Cached || has(after.Addrs, deadAddr) || len(after.Addrs) != 2 {
		t.Fatalf("after the TTL the client's answer is %+v (%v), want a fresh one with the two live nodes", after, err)
	}
	for i := 0; i < 6; i++ {
		conn, err := client.DialContext(ctx, "tcp", tr.target())
		if err != nil {
			t.Fatalf("dial after the TTL: %v", err)
		}
		conn.Close()
	}
	if v := tr.dns.Views(); v[dead] != nil || len(v) != 2 {
		t.Errorf("the observer still holds the dead node's view: %v", v)
	}

	// The zone comes back: a new member joins, DNS hands it out again.
	if err := tr.cluster.StartZone(dead); err != nil {
		t.Fatal(err)
	}
	select {
	case z := <-tr.added:
		if z != dead {
			t.Fatalf("the observer added %s, want %s", z, dead)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the restarted node never rejoined")
	}
	if a := tr.dns.Answer(); !has(a, deadAddr) {
		t.Fatalf("after the restart DNS answers %v", a)
	}
	waitFor(t, 5*time.Second, "the restarted node serves", func() bool {
		conn, err := net.Dial("tcp", netip.AddrPortFrom(deadAddr, mustPort(t, tr.port)).String())
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // the deferred close has its own channel now
	if failed.Load() > 0 {
		t.Fatalf("the stable URL failed %d of %d requests: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if ok.Load() < 50 {
		t.Fatalf("only %d requests through the stable URL", ok.Load())
	}
	t.Logf("stable URL: %d requests, none failed", ok.Load())
}

func mustPort(t *testing.T, s string) uint16 {
	var p uint16
	if _, err := fmt.Sscan(s, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// mapSource is a node's view the test sets directly.
type mapSource struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *mapSource) TargetStates() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.m {
		out[k] = v
	}
	return out
}

func (s *mapSource) set(k, v string) {
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}

// TestViewsAreGossiped marks a target unhealthy in one node's view only:
// the other nodes learn it through gossip and Disagreements names it.
func TestViewsAreGossiped(t *testing.T) {
	c, err := clock.NewScaled(50)
	if err != nil {
		t.Fatal(err)
	}
	var specs []NodeSpec
	srcs := map[string]*mapSource{}
	for i, z := range zoneNames {
		srcs[z] = &mapSource{m: map[string]string{"i-1": "healthy", "i-2": "healthy"}}
		specs = append(specs, NodeSpec{Zone: z, Addr: netip.AddrFrom4([4]byte{127, 0, byte(i + 1), 1}), Source: srcs[z]})
	}
	before := runtime.NumGoroutine()
	cl, err := StartCluster(ClusterConfig{Nodes: specs, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cl.Close()
		waitFor(t, 5*time.Second, "every member's goroutines end", func() bool { return runtime.NumGoroutine() <= before })
	}()
	sees := func(member, node, target, state string) func() bool {
		return func() bool { return cl.Member(member).Views()[node][target] == state }
	}
	for _, m := range zoneNames {
		for _, n := range zoneNames {
			waitFor(t, 5*time.Second, m+" learns "+n+"'s view", sees(m, n, "i-1", "healthy"))
		}
	}
	if d := Disagreements(cl.Views()); len(d) != 0 {
		t.Fatalf("agreeing views reported as disagreements: %v", d)
	}

	srcs["us-east-1a"].set("i-2", "unhealthy")
	for _, m := range zoneNames[1:] {
		waitFor(t, 5*time.Second, m+" sees us-east-1a's unhealthy i-2", sees(m, "us-east-1a", "i-2", "unhealthy"))
	}
	for _, m := range zoneNames {
		d := Disagreements(cl.Member(m).Views())
		want := map[string]string{"us-east-1a": "unhealthy", "us-east-1b": "healthy", "us-east-1c": "healthy"}
		if len(d) != 1 || d[0].Target != "i-2" || fmt.Sprint(d[0].States) != fmt.Sprint(want) {
			t.Fatalf("%s: disagreements %v, want i-2 %v", m, d, want)
		}
	}
	// A view too big for a gossip packet goes to each member over TCP.
	for i := 0; i < 80; i++ {
		srcs["us-east-1c"].set(fmt.Sprintf("i-%017d", i), "healthy")
	}
	for _, m := range zoneNames[:2] {
		waitFor(t, 5*time.Second, m+" learns us-east-1c's big view", func() bool { return len(cl.Member(m).Views()["us-east-1c"]) == 82 })
	}
}
