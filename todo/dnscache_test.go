package todo

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDNSCacheKeepsAnAnswerForItsTTL: the app resolves an endpoint's name
// through the given server and keeps the answer for its TTL; a flipped
// record (a failover) is seen only once the TTL has passed, as an RDS
// client sees it; an address is not looked up.
func TestDNSCacheKeepsAnAnswerForItsTTL(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	addr, queries := "127.0.1.200", 0
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		mu.Lock()
		defer mu.Unlock()
		queries++
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Name == "db.abc.us-east-1.rds.amazonaws.com." {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.ParseIP(addr)})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	now := time.Unix(0, 0)
	c := NewDNSCache(pc.LocalAddr().String(), func() time.Time { return now })
	ctx := context.Background()
	look := func() []string {
		t.Helper()
		got, err := c.Lookup(ctx, "db.abc.us-east-1.rds.amazonaws.com")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := look(); !slices.Equal(got, []string{"127.0.1.200"}) {
		t.Fatalf("answer %v", got)
	}
	mu.Lock()
	addr = "127.0.2.200" // the failover flips the record
	mu.Unlock()
	now = now.Add(4 * time.Second)
	if got := look(); !slices.Equal(got, []string{"127.0.1.200"}) {
		t.Fatalf("within the TTL: %v, want the cached answer", got)
	}
	now = now.Add(time.Second)
	if got := look(); !slices.Equal(got, []string{"127.0.2.200"}) {
		t.Fatalf("after the TTL: %v, want the new address", got)
	}
	mu.Lock()
	if queries != 2 {
		t.Errorf("%d queries, want 2", queries)
	}
	mu.Unlock()
	if got, err := c.Lookup(ctx, "127.0.0.200"); err != nil || !slices.Equal(got, []string{"127.0.0.200"}) {
		t.Errorf("an address: %v, %v", got, err)
	}
	if _, err := c.Lookup(ctx, "nope.rds.amazonaws.com"); err == nil {
		t.Error("an unknown name resolved")
	}
}
