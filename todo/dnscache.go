package todo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNSCache resolves a database endpoint's name through one DNS server, as
// an instance's VPC resolver would, and keeps each answer for its TTL: so
// that after a failover flips the endpoint's record, the app reaches the
// new primary once its cached answer expires, as an RDS client does.
// SimplyDone uses it for the database URLs' host names when it is given a
// resolver (Config.DNSResolver, LAB_DNS_RESOLVER); an IP address is used as
// it is.
type DNSCache struct {
	server string
	client *dns.Client
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]dnsAnswer
}

type dnsAnswer struct {
	addrs []string
	until time.Time
}

// NewDNSCache resolves through server (host:port); now is the clock the
// TTLs count on (nil: time.Now).
func NewDNSCache(server string, now func() time.Time) *DNSCache {
	if now == nil {
		now = time.Now
	}
	return &DNSCache{server: server, client: &dns.Client{Timeout: 2 * time.Second}, now: now, cache: map[string]dnsAnswer{}}
}

// Lookup is host's IPv4 addresses: the cached answer while its TTL lasts,
// else the server's. It has pgconn's LookupFunc's signature.
func (c *DNSCache) Lookup(ctx context.Context, host string) ([]string, error) {
	if net.ParseIP(host) != nil {
		return []string{host}, nil
	}
	name := dns.Fqdn(host)
	c.mu.Lock()
	a, ok := c.cache[name]
	c.mu.Unlock()
	if ok && c.now().Before(a.until) {
		return a.addrs, nil
	}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err := c.client.ExchangeContext(ctx, m, c.server)
	if err != nil {
		return nil, fmt.Errorf("resolve %s through %s: %w", host, c.server, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("resolve %s through %s: %s", host, c.server, dns.RcodeToString[r.Rcode])
	}
	var addrs []string
	ttl := uint32(0)
	for _, rr := range r.Answer {
		if rec, ok := rr.(*dns.A); ok {
			if len(addrs) == 0 || rec.Hdr.Ttl < ttl {
				ttl = rec.Hdr.Ttl
			}
			addrs = append(addrs, rec.A.String())
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("resolve " + host + " through " + c.server + ": no address")
	}
	c.mu.Lock()
	c.cache[name] = dnsAnswer{addrs: addrs, until: c.now().Add(time.Duration(ttl) * time.Second)}
	c.mu.Unlock()
	return addrs, nil
}
