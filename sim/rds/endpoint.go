package rds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/figures"
)

// EndpointTTL is the TTL the lab gives an endpoint's DNS record, in AWS
// time: Aurora's observed 5 s (RDS documents no TTL for its endpoints and
// advises caching DNS for no more than 60 s). An assumption, not AWS's
// figure.
const EndpointTTL = 5 * time.Second

// DefaultEndpointBase is the first endpoint's stable address: endpoints
// outlive a failover, so they live beside the DNS server on 127.0.0.x, in
// no zone, as a DNS name does on AWS (DESIGN's address plan); the tier's
// endpoints take .200 and up, each on the database's port.
var DefaultEndpointBase = netip.MustParseAddr("127.0.0.200")

// Endpoint kinds, in RDS's words.
const (
	EndpointInstance = "instance" // a DB instance's endpoint (and each read replica's)
	EndpointWriter   = "writer"   // a Multi-AZ DB cluster's writer (cluster) endpoint
	EndpointReader   = "reader"   // a Multi-AZ DB cluster's reader endpoint
)

// Endpoint is one of the tier's endpoints: a DNS name and a stable address
// clients connect to, forwarding each connection to the server the
// endpoint stands for now. Moving it (a failover) breaks every open
// connection to a server it no longer stands for, as RDS's DNS flip leaves
// clients on a dead or demoted host until they reconnect; with no server
// (during a failover) a connection is accepted and closed at once.
type Endpoint struct {
	Name string // the DNS name, without the trailing dot
	Kind string // EndpointInstance, EndpointWriter or EndpointReader
	// For is the DB instance (or cluster) identifier the endpoint is named
	// after.
	For string

	ln net.Listener

	mu      sync.Mutex
	also    []net.Listener   // more addresses of the same endpoint (AlsoListen)
	targets []netip.AddrPort // round robin per connection; none: refused
	next    int
	conns   map[*relay]struct{}
	closed  bool
	wg      sync.WaitGroup // the accept loop and every relay
	dialTTL time.Duration
}

// relay is one client connection and its server connection; its two
// copying goroutines belong to it, and close ends both.
type relay struct {
	client, server net.Conn
	to             netip.AddrPort // the server it forwards to
	once           sync.Once
}

func (r *relay) close() {
	r.once.Do(func() {
		r.client.Close()
		r.server.Close()
	})
}

// listenEndpoint opens an endpoint on addr, forwarding to targets.
func listenEndpoint(name, kind, forID string, addr netip.AddrPort, targets []netip.AddrPort) (*Endpoint, error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("endpoint %s at %s: %w", name, addr, err)
	}
	e := &Endpoint{Name: name, Kind: kind, For: forID, ln: ln, targets: targets, conns: map[*relay]struct{}{}, dialTTL: 5 * time.Second}
	e.wg.Add(1)
	go e.accept(ln)
	return e, nil
}

// AlsoListen opens the endpoint on one more address, host (a port of its
// own), for clients that cannot reach its stable address: instances on
// another host (a lab agent's) reach the controller's address toward
// them, not its loopback. Connections there are forwarded, moved and
// broken as at the stable address. It returns the new address.
func (e *Endpoint) AlsoListen(host netip.Addr) (netip.AddrPort, error) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %s on %s: %w", e.Name, host, err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		ln.Close()
		return netip.AddrPort{}, fmt.Errorf("endpoint %s is closed", e.Name)
	}
	e.also = append(e.also, ln)
	e.wg.Add(1)
	e.mu.Unlock()
	go e.accept(ln)
	return ln.Addr().(*net.TCPAddr).AddrPort(), nil
}

// AddrOn is the endpoint's address on host: its stable address, or one
// AlsoListen opened there.
func (e *Endpoint) AddrOn(host netip.Addr) (netip.AddrPort, bool) {
	if a := e.Addr(); a.Addr() == host {
		return a, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ln := range e.also {
		if a := ln.Addr().(*net.TCPAddr).AddrPort(); a.Addr() == host {
			return a, true
		}
	}
	return netip.AddrPort{}, false
}

// Addr is the endpoint's stable address: what clients connect to.
func (e *Endpoint) Addr() netip.AddrPort {
	return e.ln.Addr().(*net.TCPAddr).AddrPort()
}

// Targets are the servers the endpoint forwards to now.
func (e *Endpoint) Targets() []netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]netip.AddrPort(nil), e.targets...)
}

// Move points the endpoint at targets (none: nothing answers) and breaks
// its open connections to servers it no longer stands for (a reader that
// stays behind a reader endpoint keeps its clients); it returns how many it
// broke.
func (e *Endpoint) Move(targets ...netip.AddrPort) int {
	e.mu.Lock()
	e.targets = append([]netip.AddrPort(nil), targets...)
	e.next = 0
	open := make([]*relay, 0, len(e.conns))
	for r := range e.conns {
		if !e.has(r.to) {
			open = append(open, r)
		}
	}
	e.mu.Unlock()
	for _, r := range open {
		r.close()
	}
	return len(open)
}

// Open is how many connections the endpoint forwards now.
func (e *Endpoint) Open() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}

func (e *Endpoint) accept(ln net.Listener) {
	defer e.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			c.Close()
			return
		}
		var to netip.AddrPort
		if len(e.targets) > 0 {
			to = e.targets[e.next%len(e.targets)]
			e.next++
		}
		e.wg.Add(1)
		e.mu.Unlock()
		go e.serve(c, to)
	}
}

// serve dials the server for client c and copies both ways until either
// side ends, Move breaks it or the endpoint closes.
func (e *Endpoint) serve(c net.Conn, to netip.AddrPort) {
	defer e.wg.Done()
	if !to.IsValid() {
		c.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.dialTTL)
	s, err := (&net.Dialer{}).DialContext(ctx, "tcp", to.String())
	cancel()
	if err != nil {
		c.Close()
		return
	}
	r := &relay{client: c, server: s, to: to}
	e.mu.Lock()
	if e.closed || !e.has(to) { // closed or moved while dialling
		e.mu.Unlock()
		r.close()
		return
	}
	e.conns[r] = struct{}{}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		io.Copy(s, c) // splices on Linux
		r.close()
		close(done)
	}()
	io.Copy(c, s)
	r.close()
	<-done
	e.mu.Lock()
	delete(e.conns, r)
	e.mu.Unlock()
}

func (e *Endpoint) has(to netip.AddrPort) bool {
	for _, t := range e.targets {
		if t == to {
			return true
		}
	}
	return false
}

// Close stops accepting, breaks every open connection and waits for the
// endpoint's goroutines. Safe to call twice.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	also := e.also
	e.mu.Unlock()
	if already {
		return nil
	}
	err := e.ln.Close()
	for _, ln := range also {
		ln.Close()
	}
	e.Move()
	e.wg.Wait()
	return err
}

// Figures are the figures the tier relies on that AWS does not document,
// for the run's assumptions, at speed 1 (FiguresAt).
func Figures() []figures.Figure { return FiguresAt(1) }

// FiguresAt are the figures the tier relies on that AWS does not document,
// for the run's assumptions, in AWS time at the run's speed: the
// endpoints' TTL, the monitor's interval and how long an unresponsive
// primary is given. The monitor's two figures have wall-time floors (a
// check no more often than every 100 ms, three checks' 2 s timeouts), so
// at a high speed they are longer in AWS time than RDS's assumed figures;
// the run prints what it uses.
func FiguresAt(speed float64) []figures.Figure {
	if speed <= 0 {
		speed = 1
	}
	every := monitorEvery(speed)
	unresponsive := time.Duration(float64(unresponsiveFor(speed)) * speed)
	at := ""
	if every != MonitorInterval || unresponsive != UnresponsiveAfter {
		at = fmt.Sprintf(" (at %gx; %s and %s at 1x: the checks are at least %s of wall time apart and wait %s each, %d in a row)",
			speed, clock.Short(MonitorInterval), clock.Short(UnresponsiveAfter), clock.Short(minWallProbe), clock.Short(probeTimeout), monitorFails)
	}
	return []figures.Figure{
		{Name: "RDS endpoint DNS TTL", Value: clock.Short(EndpointTTL), Kind: figures.Observed,
			Source: "Aurora's endpoints answer with a 5 s TTL (repost.aws); RDS documents none for its instance endpoints and advises caching DNS no more than 60 s"},
		{Name: "RDS failover detection", Value: fmt.Sprintf("a stopped primary at once (checked every %s of AWS time); an unresponsive one after %s of AWS time of failed checks%s",
			clock.Short(every), clock.Short(unresponsive), at), Kind: figures.Assumed,
			Source: "RDS documents the failover's span (60-120 s for a Multi-AZ DB instance, under 35 s for a cluster), not how soon it sees a failure; the lab counts the span from the failure, so detection is part of it"},
	}
}
