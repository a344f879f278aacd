package entry

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// nodesOnly is a three-node cluster with views the test sets, and its DNS
// server with an Eligible hook the test controls.
func nodesOnly(t *testing.T, eligible func(string) bool) (*Cluster, *DNSServer, []netip.Addr) {
	t.Helper()
	c, _ := clock.NewScaled(50)
	var specs []NodeSpec
	var records []Record
	var addrs []netip.Addr
	for i, z := range zoneNames {
		a := netip.AddrFrom4([4]byte{127, 0, byte(i + 1), 1})
		specs = append(specs, NodeSpec{Zone: z, Addr: a, Source: &mapSource{m: map[string]string{}}})
		records = append(records, Record{Zone: z, Addr: a})
		addrs = append(addrs, a)
	}
	cl, err := StartCluster(ClusterConfig{Nodes: specs, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	d, err := StartDNS(DNSConfig{Name: "lab-0000000001.us-east-1.elb.localhost", Records: records, Peers: cl.Peers(), Clock: c, Eligible: eligible, Gossip: cl.Gossip()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	waitFor(t, 5*time.Second, "the observer sees the nodes", func() bool { return len(d.Live()) == 3 })
	return cl, d, addrs
}

func sorted(a []netip.Addr) []netip.Addr {
	a = slices.Clone(a)
	slices.SortFunc(a, netip.Addr.Compare)
	return a
}

// TestDNSFailoverHook: a zone the dns_failover hook rejects leaves the
// answer; when every zone is rejected, every live node is answered (AWS:
// "If every zone is unhealthy in DNS, the LB sends traffic to all zones").
func TestDNSFailoverHook(t *testing.T) {
	var mu sync.Mutex
	ok := map[string]bool{"us-east-1a": true, "us-east-1b": false, "us-east-1c": true}
	_, d, addrs := nodesOnly(t, func(z string) bool { mu.Lock(); defer mu.Unlock(); return ok[z] })
	r := NewResolver(d.Addr(), nil)
	a, err := r.Lookup(context.Background(), d.Name())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sorted(a.Addrs), []netip.Addr{addrs[0], addrs[2]}; !slices.Equal(got, want) {
		t.Fatalf("us-east-1b below its dns_failover threshold: answered %v, want %v", got, want)
	}
	if got := d.AnswerZones(); !slices.Equal(got, []string{"us-east-1a", "us-east-1c"}) {
		t.Fatalf("AnswerZones %v, want us-east-1a and us-east-1c", got)
	}
	mu.Lock()
	clear(ok)
	mu.Unlock()
	if got := sorted(d.Answer()); !slices.Equal(got, addrs) {
		t.Fatalf("every zone unhealthy in DNS: answered %v, want all %v", got, addrs)
	}
	if got := d.AnswerZones(); len(got) != 3 {
		t.Fatalf("every zone unhealthy in DNS: AnswerZones %v, want all three", got)
	}
}

// TestResolverHonoursTheTTL: within the TTL the cache answers, however the
// server's answer changed; after it, the server is asked again.
func TestResolverHonoursTheTTL(t *testing.T) {
	cl, d, addrs := nodesOnly(t, nil)
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	r := NewResolver(d.Addr(), func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(by time.Duration) { mu.Lock(); now = now.Add(by); mu.Unlock() }
	ctx := context.Background()
	a, err := r.Lookup(ctx, d.Name())
	if err != nil || a.Cached || a.TTL != time.Second || len(a.Addrs) != 3 {
		t.Fatalf("first lookup %+v %v, want 3 fresh records with a 1 s TTL (60 AWS s at speed 50)", a, err)
	}
	if err := cl.StopZone("us-east-1c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the observer drops us-east-1c", func() bool { return len(d.Live()) == 2 })
	advance(999 * time.Millisecond)
	if a, _ := r.Lookup(ctx, d.Name()); !a.Cached || !slices.Contains(a.Addrs, addrs[2]) {
		t.Fatalf("within the TTL: %+v, want the cached answer with us-east-1c", a)
	}
	advance(time.Millisecond)
	if a, _ := r.Lookup(ctx, d.Name()); a.Cached || slices.Contains(a.Addrs, addrs[2]) || len(a.Addrs) != 2 {
		t.Fatalf("at the TTL: %+v, want a fresh answer without us-east-1c", a)
	}
	if _, err := r.Lookup(ctx, "other.elb.localhost"); err == nil {
		t.Fatal("another name resolved")
	}
}

// TestDNSAddName: a name another part adds (a database endpoint's) is
// answered with its address and its own TTL, beside the load balancer's.
func TestDNSAddName(t *testing.T) {
	_, d, _ := nodesOnly(t, nil)
	name := "shop.abcdefghijkl.us-east-1.rds.amazonaws.com"
	d.AddName(name, netip.MustParseAddr("127.0.0.200"), 5*time.Second)
	r := NewResolver(d.Addr(), nil)
	a, err := r.Lookup(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Addrs, []netip.Addr{netip.MustParseAddr("127.0.0.200")}) {
		t.Fatalf("answered %v", a.Addrs)
	}
	if want := time.Duration(WallTTL(5*time.Second, d.cfg.Clock)) * time.Second; a.TTL != want {
		t.Fatalf("TTL %s, want %s", a.TTL, want)
	}
	if _, err := r.Lookup(context.Background(), d.Name()); err != nil {
		t.Fatalf("the load balancer's name: %v", err)
	}
}
