package entry

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/simplydone/lab/clock"
)

func query(t *testing.T, netw, addr, name string, mut func(*dns.Msg)) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	if mut != nil {
		mut(m)
	}
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s: %v", netw, name, err)
	}
	return r
}

// The DNS server answers on loopback only, only for the load balancer's
// name, and recurses for nobody (issue 19): the name's A records; another
// name under its parent NXDOMAIN; any other name REFUSED; no RA bit; only
// standard queries.
func TestDNSAnswersOnlyItsOwnName(t *testing.T) {
	_, d, _ := nodesOnly(t, nil)
	for _, netw := range []string{"udp", "tcp"} {
		r := query(t, netw, d.Addr(), d.Name(), nil)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 || !r.Authoritative || r.RecursionAvailable {
			t.Errorf("%s: own name: rcode %s, %d answers, AA %v, RA %v", netw, dns.RcodeToString[r.Rcode], len(r.Answer), r.Authoritative, r.RecursionAvailable)
		}
	}
	if r := query(t, "udp", d.Addr(), "other-0000000002.us-east-1.elb.localhost", nil); r.Rcode != dns.RcodeNameError || !r.Authoritative || len(r.Answer) != 0 {
		t.Errorf("another name in its zone: %s, AA %v, %d answers; want NXDOMAIN", dns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer))
	}
	for _, name := range []string{"example.com", "localhost", "elb.localhost"} {
		r := query(t, "udp", d.Addr(), name, func(m *dns.Msg) { m.RecursionDesired = true })
		if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 || r.RecursionAvailable || r.Authoritative {
			t.Errorf("%s (recursion desired): %s, %d answers, RA %v; want REFUSED and no recursion", name, dns.RcodeToString[r.Rcode], len(r.Answer), r.RecursionAvailable)
		}
	}
	if r := query(t, "udp", d.Addr(), d.Name(), func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }); r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("a status query: %s, want NOTIMP", dns.RcodeToString[r.Rcode])
	}
	c, _ := clock.NewScaled(50)
	g, _ := NewGossip()
	for _, bind := range []string{"0.0.0.0", "::", "192.0.2.1", "nowhere"} {
		s, err := StartDNS(DNSConfig{Name: "x-1.us-east-1.elb.localhost", Records: []Record{{Zone: "us-east-1a"}}, Bind: bind, Clock: c, Gossip: g})
		if err == nil {
			s.Close()
			t.Errorf("StartDNS on %q started; want it refused (loopback only)", bind)
		}
	}
}

// A flood of UDP queries (the server's name, other names, garbage) and of
// idle TCP connections leaves the server's goroutines and heap bounded,
// and it answers again as soon as the flood ends (issue 19).
func TestDNSSurvivesAFlood(t *testing.T) {
	_, d, _ := nodesOnly(t, nil)
	if r := query(t, "udp", d.Addr(), d.Name(), nil); len(r.Answer) != 3 {
		t.Fatalf("before the flood: %d answers", len(r.Answer))
	}
	baseG, baseHeap := settle()

	var maxG atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if g := int64(runtime.NumGoroutine()); g > maxG.Load() {
				maxG.Store(g)
			}
		}
	}()

	// Idle TCP connections, far more than the server takes at once.
	var idle []net.Conn
	for i := 0; i < 300; i++ {
		c, err := net.DialTimeout("tcp", d.Addr(), time.Second)
		if err != nil {
			break // the backlog is full: the flood is held at the door
		}
		idle = append(idle, c)
	}
	own, other := new(dns.Msg), new(dns.Msg)
	own.SetQuestion(d.Name(), dns.TypeA)
	other.SetQuestion("example.com.", dns.TypeA)
	ownB, _ := own.Pack()
	otherB, _ := other.Pack()
	packets := [][]byte{ownB, otherB, []byte("not a dns message at all"), make([]byte, 1500)}
	const senders, perSender = 4, 5000
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp", d.Addr())
			if err != nil {
				return
			}
			defer c.Close()
			for j := 0; j < perSender; j++ {
				c.Write(packets[j%len(packets)])
			}
		}()
	}
	wg.Wait()
	// Right after the flood (the TCP slots still held), UDP answers, as a
	// resolver sees it: a query lost in a full socket buffer is asked again.
	waitFor(t, 5*time.Second, "a UDP answer right after the flood", func() bool {
		m := new(dns.Msg)
		m.SetQuestion(d.Name(), dns.TypeA)
		r, _, err := (&dns.Client{Net: "udp", Timeout: 250 * time.Millisecond}).Exchange(m, d.Addr())
		return err == nil && len(r.Answer) == 3
	})
	for _, c := range idle {
		c.Close()
	}
	close(stop)
	sampler.Wait()
	afterG, afterHeap := settle()

	// 4 UDP readers, at most 32 TCP connections served, the sampler and senders.
	if grew := maxG.Load() - int64(baseG); grew > udpWorkers+maxTCPConns+senders+24 {
		t.Errorf("goroutines rose by %d during the flood (from %d to %d); want them bounded", grew, baseG, maxG.Load())
	}
	if grew := int64(afterHeap) - int64(baseHeap); grew > 16<<20 {
		t.Errorf("heap grew by %d bytes over the flood; want it bounded", grew)
	}
	t.Logf("%d UDP packets, %d idle TCP connections: goroutines %d -> max %d -> %d; heap %d KiB -> %d KiB",
		senders*perSender, len(idle), baseG, maxG.Load(), afterG, baseHeap>>10, afterHeap>>10)
	waitFor(t, 10*time.Second, "TCP answers again after the flood", func() bool {
		m := new(dns.Msg)
		m.SetQuestion(d.Name(), dns.TypeA)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 500 * time.Millisecond}).Exchange(m, d.Addr())
		return err == nil && len(r.Answer) == 3
	})
}

// settle collects garbage and reads the goroutine count and live heap.
func settle() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
