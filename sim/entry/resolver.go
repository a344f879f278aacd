package entry

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Resolver resolves names through one DNS server and caches each answer
// for its TTL, as a stub resolver with a cache does.
type Resolver struct {
	server  string // ip:port
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]Answer
}

// Answer is a resolved name.
type Answer struct {
	Addrs   []netip.Addr
	TTL     time.Duration
	Fetched time.Time // when the server answered
	Expires time.Time // Fetched + TTL: until then the cache answers
	Cached  bool      // this lookup was served from the cache
}

// NewResolver asks server (ip:port, UDP then TCP when truncated). now is
// the wall clock for the cache (nil: time.Now).
func NewResolver(server string, now func() time.Time) *Resolver {
	if now == nil {
		now = time.Now
	}
	return &Resolver{server: server, timeout: 2 * time.Second, now: now, cache: map[string]Answer{}}
}

// Lookup returns name's A records, from the cache while they are fresh.
func (r *Resolver) Lookup(ctx context.Context, name string) (Answer, error) {
	name = dns.CanonicalName(name)
	r.mu.Lock()
	a, ok := r.cache[name]
	r.mu.Unlock()
	if ok && r.now().Before(a.Expires) {
		a.Cached = true
		return a, nil
	}
	a, err := r.query(ctx, name)
	if err != nil {
		return Answer{}, err
	}
	r.mu.Lock()
	r.cache[name] = a
	r.mu.Unlock()
	return a, nil
}

// Flush forgets every cached answer.
func (r *Resolver) Flush() {
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
}

func (r *Resolver) query(ctx context.Context, name string) (Answer, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	in, _, err := c.ExchangeContext(ctx, q, r.server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, q, r.server)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("resolve %s at %s: %w", name, r.server, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return Answer{}, fmt.Errorf("resolve %s at %s: %s", name, r.server, dns.RcodeToString[in.Rcode])
	}
	a := Answer{Fetched: r.now()}
	ttl := uint32(0)
	for _, rr := range in.Answer {
		if ar, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(ar.A.To4()); ok {
				a.Addrs = append(a.Addrs, ip)
				if ttl == 0 || ar.Hdr.Ttl < ttl {
					ttl = ar.Hdr.Ttl
				}
			}
		}
	}
	if len(a.Addrs) == 0 {
		return Answer{}, fmt.Errorf("resolve %s at %s: no A records", name, r.server)
	}
	a.TTL = time.Duration(ttl) * time.Second
	a.Expires = a.Fetched.Add(a.TTL)
	return a, nil
}
