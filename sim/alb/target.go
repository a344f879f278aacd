package alb

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/simplydone/lab/sim/az"
)

// Target is a registered instance: the same value is shared by every node.
type Target struct {
	ID   az.InstanceID
	Zone string
	Addr netip.AddrPort
	// Group is the target group it is registered in (groups.go).
	Group string

	inflight atomic.Int64 // requests in progress, over all nodes
	draining atomic.Bool
	drained  chan struct{} // closed when draining and nothing is in flight
	once     sync.Once

	mu    sync.Mutex
	conns map[net.Conn]struct{} // live connections from any node, closed when the drain delay ends
}

func newTarget(id az.InstanceID, zone string, addr netip.AddrPort) *Target {
	return &Target{ID: id, Zone: zone, Addr: addr, drained: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

// InFlight is how many requests the target is serving through the load balancer.
func (t *Target) InFlight() int64 { return t.inflight.Load() }

func (t *Target) begin() { t.inflight.Add(1) }

func (t *Target) end() {
	if t.inflight.Add(-1) == 0 && t.draining.Load() {
		t.markDrained()
	}
}

func (t *Target) markDrained() { t.once.Do(func() { close(t.drained) }) }

func (t *Target) startDraining() {
	t.draining.Store(true)
	if t.inflight.Load() == 0 {
		t.markDrained()
	}
}

func (t *Target) track(c net.Conn) {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *Target) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// closeConns cuts every connection to the target: what is still in flight
// when the deregistration delay ends fails, as on AWS (502).
func (t *Target) closeConns() {
	t.mu.Lock()
	cs := t.conns
	t.conns = map[net.Conn]struct{}{}
	t.mu.Unlock()
	for c := range cs {
		c.Close()
	}
}

// trackedConn removes itself from its target's set when closed.
type trackedConn struct {
	net.Conn
	t    *Target
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.t.untrack(c) })
	return c.Conn.Close()
}
