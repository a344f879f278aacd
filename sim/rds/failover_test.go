package rds

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/stack"
)

const multiAZ = "  engine: postgres\n  db_instance_class: db.t3.micro\n  multi_az: true\n  read_replicas: [{}]\n"
const cluster = "  engine: postgres\n  db_cluster_instance_class: db.m5d.large\n  storage_type: gp3\n"

// TestPromotionTarget: a Multi-AZ instance promotes its standby, never a
// read replica (nor a promoted one); a cluster the reader that replayed
// most; nobody when the standby is down. (A read replica's promotion is
// PromoteReadReplica's own, no failover: promote.go.)
func TestPromotionTarget(t *testing.T) {
	servers, err := Plan(parseDB(t, multiAZ), zones(t), "/d")
	if err != nil {
		t.Fatal(err)
	}
	all := func(Server) bool { return true }
	zero := func(Server) uint64 { return 0 }
	if s, err := promotionTarget(servers, all, zero); err != nil || s.Role != stack.RoleStandby {
		t.Fatalf("got %+v %v, want the standby", s, err)
	}
	notStandby := func(s Server) bool { return s.Role != stack.RoleStandby }
	if _, err := promotionTarget(servers, notStandby, zero); !errors.Is(err, ErrNoStandby) {
		t.Fatalf("standby down: got %v, want ErrNoStandby (a read replica is no failover target)", err)
	}
	promoted := slices.Clone(servers)
	promoted[2].Role = RoleStandalone
	if _, err := promotionTarget(promoted, notStandby, zero); !errors.Is(err, ErrNoStandby) {
		t.Fatalf("standby down, the replica promoted: got %v, want ErrNoStandby (a promoted replica is a DB instance of its own)", err)
	}

	cs, err := Plan(parseDB(t, cluster), zones(t), "/d")
	if err != nil {
		t.Fatal(err)
	}
	lsn := func(s Server) uint64 {
		if s.Identifier == "web-db-reader-2" {
			return 900
		}
		return 500
	}
	if s, err := promotionTarget(cs, all, lsn); err != nil || s.Identifier != "web-db-reader-2" {
		t.Fatalf("cluster: got %s %v, want the reader that replayed most", s.Identifier, err)
	}
}

// TestAfterPromotionAndRebuild: the promoted server is first and the
// primary; the others stream from it; the new standby goes to the lost
// primary's zone when healthy, else a free healthy zone, at a free address.
func TestAfterPromotionAndRebuild(t *testing.T) {
	servers, err := Plan(parseDB(t, multiAZ), zones(t), "/d")
	if err != nil {
		t.Fatal(err)
	}
	next := afterPromotion(servers, servers[1])
	if len(next) != 2 || next[0].Identifier != "web-db-standby" || next[0].Role != stack.RolePrimary || next[0].Source != "" ||
		next[1].Role != stack.RoleReadReplica || next[1].Source != "web-db-standby" {
		t.Fatalf("after promotion: %+v", next)
	}
	// A promoted read replica follows nobody, and its zone stays free for a standby.
	withStandalone := slices.Clone(servers)
	withStandalone[2].Role, withStandalone[2].Source = RoleStandalone, ""
	if n := afterPromotion(withStandalone, withStandalone[1]); n[1].Source != "" || n[1].Role != RoleStandalone {
		t.Fatalf("after promotion, the standalone: %+v", n[1])
	}
	if holds(withStandalone[2:], withStandalone[2].Zone.Name) {
		t.Fatal("a promoted read replica holds its zone against a standby")
	}
	sub := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	if z, ok := rebuildZone(sub, next, "us-east-1a", nil); !ok || z != "us-east-1a" {
		t.Fatalf("healthy lost zone: got %s %v", z, ok)
	}
	if z, ok := rebuildZone(sub, next, "us-east-1a", map[string]bool{"us-east-1a": true}); !ok || z != "us-east-1c" {
		t.Fatalf("lost zone down: got %s %v, want us-east-1c (1b holds the primary)", z, ok)
	}
	if _, ok := rebuildZone(sub[:2], next, "us-east-1a", map[string]bool{"us-east-1a": true}); ok {
		t.Fatal("rebuilt in the primary's zone")
	}
	// The lost primary's address is still taken (its data is kept).
	if a, ok := freeAddr(servers[0].Zone, append(next, servers[0])); !ok || a != netip.MustParseAddr("127.0.1.201") {
		t.Fatalf("free address: %s %v", a, ok)
	}
}

func TestEndpointNames(t *testing.T) {
	h := endpointHash(7)
	if len(h) != 12 || h != endpointHash(7) || h == endpointHash(8) {
		t.Fatalf("hash %q", h)
	}
	for _, c := range []struct{ kind, want string }{
		{EndpointInstance, "shop." + h + ".us-east-1.rds.amazonaws.com"},
		{EndpointWriter, "shop.cluster-" + h + ".us-east-1.rds.amazonaws.com"},
		{EndpointReader, "shop.cluster-ro-" + h + ".us-east-1.rds.amazonaws.com"},
	} {
		if got := EndpointName(c.kind, "Shop", h, region("us-east-1b")); got != c.want {
			t.Errorf("%s: %s, want %s", c.kind, got, c.want)
		}
	}
	cs, _ := Plan(parseDB(t, cluster+"  read_replicas: [{}]\n"), zones(t), "/d")
	plan := endpointPlan(parseDB(t, cluster+"  read_replicas: [{}]\n"), cs)
	if len(plan) != 3 || plan[0].kind != EndpointWriter || plan[1].kind != EndpointReader || len(plan[1].targets) != 2 ||
		plan[2].id != "web-db-replica-1" {
		t.Fatalf("cluster endpoints: %+v", plan)
	}
}

// echo is a server that answers each line with its name.
func echo(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := io.WriteString(c, name); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func ask(t *testing.T, c net.Conn) (string, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "?"); err != nil {
		return "", err
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// TestEndpointMove: the endpoint forwards to its server; Move breaks the
// open connection and new ones reach the new server; with no server a
// connection is closed at once; Close ends everything.
func TestEndpointMove(t *testing.T) {
	a, b := echo(t, "a"), echo(t, "b")
	e, err := listenEndpoint("x.rds.amazonaws.com", EndpointInstance, "x", netip.MustParseAddrPort("127.0.0.1:0"), []netip.AddrPort{a})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := net.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := ask(t, c); err != nil || got != "a" {
		t.Fatalf("before the move: %q %v", got, err)
	}
	if n := e.Move(); n != 1 {
		t.Fatalf("Move broke %d connections, want 1", n)
	}
	if _, err := ask(t, c); err == nil {
		t.Fatal("the open connection survived the move")
	}
	d, err := net.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ask(t, d); err == nil {
		t.Fatalf("with no server the endpoint answered %q", got)
	}
	d.Close()
	e.Move(b)
	f, err := net.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := ask(t, f); err != nil || got != "b" {
		t.Fatalf("after the move: %q %v", got, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ask(t, f); err == nil {
		t.Fatal("a connection outlived Close")
	}
	if e.Open() != 0 {
		t.Fatalf("%d relays left", e.Open())
	}
	if !strings.HasSuffix(e.Name, "amazonaws.com") {
		t.Fatal(e.Name)
	}
}

// TestEndpointAlsoListen: an endpoint opened on a second address (the
// controller's address toward the agents' hosts) forwards there as at its
// stable address, a move breaks and repoints its connections too, and
// Close closes it.
func TestEndpointAlsoListen(t *testing.T) {
	a, b := echo(t, "a"), echo(t, "b")
	e, err := listenEndpoint("x.rds.amazonaws.com", EndpointInstance, "x", netip.MustParseAddrPort("127.0.0.1:0"), []netip.AddrPort{a})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	far, err := e.AlsoListen(netip.MustParseAddr("127.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.AddrOn(netip.MustParseAddr("127.0.0.2")); !ok || got != far {
		t.Fatalf("AddrOn 127.0.0.2: %s %v, want %s", got, ok, far)
	}
	if got, ok := e.AddrOn(netip.MustParseAddr("127.0.0.1")); !ok || got != e.Addr() {
		t.Fatalf("AddrOn the stable address's host: %s %v", got, ok)
	}
	if _, ok := e.AddrOn(netip.MustParseAddr("127.0.0.3")); ok {
		t.Fatal("an address the endpoint was not opened on")
	}
	c, err := net.Dial("tcp", far.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := ask(t, c); err != nil || got != "a" {
		t.Fatalf("through the second address: %q %v", got, err)
	}
	if n := e.Move(b); n != 1 {
		t.Fatalf("Move broke %d connections, want the second address's 1", n)
	}
	d, err := net.Dial("tcp", far.String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, err := ask(t, d); err != nil || got != "b" {
		t.Fatalf("after the move, through the second address: %q %v", got, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", far.String(), time.Second); err == nil {
		t.Fatal("the second address still accepts after Close")
	}
	if _, err := e.AlsoListen(netip.MustParseAddr("127.0.0.2")); err == nil {
		t.Fatal("a closed endpoint opened another address")
	}
}

// TestFiguresAtSpeed: the run's assumptions give the monitor's interval
// and unresponsive time in AWS time as the run uses them: at 20x the wall
// floors make them 2 s and 2 minutes, not the 1 s and 30 s of 1x.
func TestFiguresAtSpeed(t *testing.T) {
	value := func(speed float64) string {
		for _, f := range FiguresAt(speed) {
			if f.Name == "RDS failover detection" {
				return f.Value
			}
		}
		t.Fatal("no detection figure")
		return ""
	}
	if v := value(1); !strings.Contains(v, "checked every 1s of AWS time") || !strings.Contains(v, "after 30s of AWS time") || strings.Contains(v, "at 1x") {
		t.Errorf("at 1x: %s", v)
	}
	if v := value(20); !strings.Contains(v, "checked every 2s of AWS time") || !strings.Contains(v, "after 2m of AWS time") || !strings.Contains(v, "at 20x") {
		t.Errorf("at 20x: %s", v)
	}
}

// TestEndpointMoveKeepsStayingServers: a reader endpoint over two readers
// that drops one breaks only the connections to that one; the other
// reader's clients keep theirs.
func TestEndpointMoveKeepsStayingServers(t *testing.T) {
	a, b := echo(t, "a"), echo(t, "b")
	e, err := listenEndpoint("r.rds.amazonaws.com", EndpointReader, "x", netip.MustParseAddrPort("127.0.0.1:0"), []netip.AddrPort{a, b})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	conns := map[string]net.Conn{}
	for range 2 { // round robin: one to each
		c, err := net.Dial("tcp", e.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := ask(t, c)
		if err != nil {
			t.Fatal(err)
		}
		conns[got] = c
	}
	if len(conns) != 2 {
		t.Fatalf("connections reached %v, want a and b", conns)
	}
	if n := e.Move(b); n != 1 {
		t.Fatalf("Move broke %d connections, want 1 (to a)", n)
	}
	if _, err := ask(t, conns["a"]); err == nil {
		t.Error("the connection to the reader dropped survived")
	}
	if got, err := ask(t, conns["b"]); err != nil || got != "b" {
		t.Errorf("the connection to the reader that stays broke: %q %v", got, err)
	}
}

// TestFailoverTargets: a standby the primary still waits for stays a
// failover target when one look at pg_stat_replication misses it; once
// synchronous_standby_names no longer names it, it is none; one streaming
// asynchronously never is.
func TestFailoverTargets(t *testing.T) {
	names := `"web-db-standby"`
	if got := targets([]string{"web-db-standby"}, nil, names); !slices.Equal(got, []string{"web-db-standby"}) {
		t.Fatalf("missed by one look: %v, want it kept", got)
	}
	if got := targets([]string{"web-db-standby"}, nil, ""); len(got) != 0 {
		t.Fatalf("no longer waited for: %v, want none", got)
	}
	if got := targets(nil, nil, names); len(got) != 0 {
		t.Fatalf("never in sync: %v", got)
	}
	q := `ANY 1 ("web-db-reader-1", "web-db-reader-2")`
	if got := targets([]string{"web-db-reader-1"}, []string{"web-db-reader-2"}, q); !slices.Equal(got, []string{"web-db-reader-2", "web-db-reader-1"}) {
		t.Fatalf("quorum: %v", got)
	}
}

// A failover whose endpoint moved past RDS's documented time (beyond the
// timer's slack) says by how much; a read replica's promotion, with no
// documented time, never does.
func TestFailoverOverrun(t *testing.T) {
	for _, c := range []struct {
		at, documented, want float64
	}{
		{35.0, 35, 0}, {35.9, 35, 0}, {45.9, 35, 10.9}, {91.5, 90, 1.5}, {80, 0, 0},
	} {
		e := FailoverStep{Step: StepMoved, At: c.at, Documented: c.documented}
		if got := e.Overrun(); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("moved at %.1f s, documented %.0f s: overrun %.2f, want %.2f", c.at, c.documented, got, c.want)
		}
	}
}

// TestResumeLeavesAPromotionAlone: a replica-lag's resume does not make a
// read replica stream from its source again once its promotion has begun
// (promoting) or it is promoted; a read replica still one is resumed.
func TestResumeLeavesAPromotionAlone(t *testing.T) {
	tier := &Tier{servers: []Server{{Identifier: "db", Role: stack.RolePrimary}, {Identifier: "db-replica-1", Role: stack.RoleReadReplica}}}
	if why := tier.notResumable("db-replica-1"); why != "" {
		t.Fatalf("a read replica: %q", why)
	}
	tier.promoting = "db-replica-1"
	if why := tier.notResumable("db-replica-1"); why != " is being promoted: nothing to resume" {
		t.Fatalf("a replica being promoted: %q", why)
	}
	tier.promoting = ""
	tier.servers[1].Role = RoleStandalone
	if why := tier.notResumable("db-replica-1"); why != " is a standalone now: nothing to resume" {
		t.Fatalf("a promoted replica: %q", why)
	}
}
