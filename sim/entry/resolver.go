package entry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
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

// Dialer dials the load balancer's name through a Resolver, taking the
// cached addresses in turn, one per connection.
type Dialer struct {
	Resolver *Resolver
	Name     string // the load balancer's DNS name; other hosts must be loopback IPs
	// TryAll tries the next address when a connection fails, as browsers
	// do. Off (the default, and the load generator's setting), a dead
	// cached address gives an error, as it does to most clients on AWS.
	TryAll  bool
	Timeout time.Duration // per connection attempt (default 10 s)

	next atomic.Uint64
}

// ErrNotLoopback refuses a host that is neither the load balancer's name nor
// a loopback address: the lab sends no traffic anywhere else.
var ErrNotLoopback = errors.New("only the load balancer's name and loopback addresses are dialled")

// DialContext is for http.Transport.DialContext.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: d.Timeout}
	if nd.Timeout == 0 {
		nd.Timeout = 10 * time.Second
	}
	if !strings.EqualFold(dns.CanonicalName(host), dns.CanonicalName(d.Name)) {
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("dial %s: %w", address, ErrNotLoopback)
		}
		return nd.DialContext(ctx, network, address)
	}
	a, err := d.Resolver.Lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	start := int(d.next.Add(1) - 1)
	tries := 1
	if d.TryAll {
		tries = len(a.Addrs)
	}
	var errs []error
	for i := 0; i < tries; i++ {
		ip := a.Addrs[(start+i)%len(a.Addrs)]
		c, err := nd.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("dial %s: %w", host, errors.Join(errs...))
}
