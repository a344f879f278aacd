package entry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// How a client picks among the addresses the load balancer's name resolved
// to (Dialer.Client; a scenario's load.client).
const (
	// NextAddress, the default: a connection refused or timed out on one
	// address is tried on the next address of the answer, as Go's
	// net.Dialer (dialSerial: "Dial will try each IP address in order until
	// one succeeds"), browsers and curl do.
	NextAddress = "next-address"
	// OneAddress: each connection goes to one address of the cached
	// answer, in turn, and fails if that address does; a dead node's
	// address keeps failing until the TTL ends and the name is resolved
	// again. The older behaviour, for showing what a client that does not
	// retry sees.
	OneAddress = "one-address"
)

// Clients lists Dialer.Client's values ("" is NextAddress).
var Clients = []string{NextAddress, OneAddress}

// DefaultDialTimeout bounds one Dial (wall time), as net.Dialer.Timeout does.
const DefaultDialTimeout = 10 * time.Second

// minAttempt is the least time an attempt on one address gets while
// others remain, as Go's net.Dialer gives it (partialDeadline's
// saneMinimum).
const minAttempt = 2 * time.Second

// Dialer dials the load balancer's name through a Resolver, one connection
// at a time. Each connection starts at the next address of the cached
// answer in turn (as a population of clients spreads over the records
// Route 53 hands out in varying order); Client says whether it goes on to
// the other addresses when that one fails.
type Dialer struct {
	Resolver *Resolver
	Name     string // the load balancer's DNS name; other hosts must be loopback IPs
	Client   string // NextAddress ("", the default) or OneAddress
	// Timeout bounds the whole dial (wall time; DefaultDialTimeout when 0).
	// With NextAddress it is spread over the addresses as Go's net.Dialer
	// spreads it: each attempt gets an equal share of what is left, and at
	// least 2 s while that much is left.
	Timeout time.Duration

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
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(d.Timeout, DefaultDialTimeout))
	defer cancel()
	if !strings.EqualFold(dns.CanonicalName(host), dns.CanonicalName(d.Name)) {
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("dial %s: %w", address, ErrNotLoopback)
		}
		return (&net.Dialer{}).DialContext(ctx, network, address)
	}
	a, err := d.Resolver.Lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	start := int(d.next.Add(1) - 1)
	tries := len(a.Addrs)
	if d.Client == OneAddress {
		tries = 1
	}
	var errs []error
	for i := range tries {
		ip := a.Addrs[(start+i)%len(a.Addrs)]
		attempt, cancel := context.WithDeadline(ctx, partialDeadline(ctx, tries-i))
		c, err := (&net.Dialer{}).DialContext(attempt, network, net.JoinHostPort(ip.String(), port))
		cancel()
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

// partialDeadline is the deadline of one attempt while left addresses
// (this one included) remain, as Go's net.Dialer sets it: an equal share
// of the time left, at least minAttempt unless less is left.
func partialDeadline(ctx context.Context, left int) time.Time {
	deadline, _ := ctx.Deadline() // DialContext always sets one
	remaining := time.Until(deadline)
	share := remaining / time.Duration(left)
	if share < minAttempt {
		share = min(minAttempt, remaining)
	}
	return time.Now().Add(share)
}
