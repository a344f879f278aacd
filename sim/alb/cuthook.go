package alb

import (
	"context"
	"net"
	"sync"
)

// A request's connection to its target is cut (its deadline set in the
// past) when the client goes away mid-request, so that the proxy stops
// waiting on the target and answers 460. On the node's front (h1serve.go)
// the client's connection holds the target's connection while the
// exchange runs, in a slot of its own; elsewhere (net/http's server, h2c)
// a context.AfterFunc on the request's context does it. The slot costs no
// allocation and no registration on the context per request.

// frontKey finds the front connection in a request's context.
type frontKey struct{}

// frontCtx is a front connection's context: its cancellation, its
// connection record (connKey) and the connection itself (frontKey), found
// without a chain of value contexts.
type frontCtx struct {
	context.Context // the connection's cancellable context
	ci              *connInfo
	fc              *frontConn
}

func (c *frontCtx) Value(k any) any {
	switch k.(type) {
	case connKey:
		return c.ci
	case frontKey:
		return c.fc
	}
	return c.Context.Value(k)
}

// cutSlot is a front connection's hold on the target connection its
// request is using.
type cutSlot struct {
	mu   sync.Mutex
	held net.Conn
	gone bool // the client went away: a held connection is cut, a new one at once
	cut  bool // the held connection was cut
}

// hold notes that c carries the request's exchange now.
func (s *cutSlot) hold(c net.Conn) {
	s.mu.Lock()
	s.held, s.cut = c, s.gone
	if s.gone {
		c.SetDeadline(aLongTimeAgo)
	}
	s.mu.Unlock()
}

// release ends the hold; false when the connection was cut meanwhile.
func (s *cutSlot) release() bool {
	s.mu.Lock()
	cut := s.cut
	s.held, s.cut = nil, false
	s.mu.Unlock()
	return !cut
}

// clientGone cuts the held connection, and any held later.
func (s *cutSlot) clientGone() {
	s.mu.Lock()
	s.gone = true
	if s.held != nil && !s.cut {
		s.cut = true
		s.held.SetDeadline(aLongTimeAgo)
	}
	s.mu.Unlock()
}

// cutHook is one exchange's hold on its target connection: the front
// connection's slot, or an AfterFunc on the request's context.
type cutHook struct {
	slot *cutSlot
	stop func() bool
}

// holdConn cuts c when the request of ctx ends early (its client went
// away) until the hook is released.
func holdConn(ctx context.Context, fc *frontConn, c net.Conn) cutHook {
	if fc != nil {
		fc.cut.hold(c)
		return cutHook{slot: &fc.cut}
	}
	return cutHook{stop: context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })}
}

// release ends the hold; false when the connection was cut meanwhile
// (it must not be reused).
func (h cutHook) release() bool {
	if h.slot != nil {
		return h.slot.release()
	}
	return h.stop()
}

// frontOf is the front connection a request's context belongs to; nil
// when it is not the front's (net/http's server, h2c).
func frontOf(ctx context.Context) *frontConn {
	fc, _ := ctx.Value(frontKey{}).(*frontConn)
	return fc
}
