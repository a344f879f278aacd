package lab

import (
	"context"
	"errors"
	"net/netip"
	"sync"

	"github.com/simplydone/lab/internal/sockowner"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

// listenerOwner is a runtime that can tell an instance's own listener from
// another process's on its address (sim/az/process: the listening socket's
// holder, from /proc).
type listenerOwner interface {
	OwnsListener(ctx context.Context, id az.InstanceID, addr netip.AddrPort) error
}

// ownedProber is the health check behind a check of who answers: a target
// whose address is answered by a listener that is not its instance's own (a
// server someone else runs on 127.0.N.10, a crashed run's leftover) fails
// its health checks, so it is never marked healthy or sent traffic on that
// listener's word. The lab says so once per instance.
type ownedProber struct {
	next  alb.Prober
	owner listenerOwner
	at    func(netip.Addr) (az.InstanceID, bool) // the instance at an address
	say   func(format string, args ...any)

	mu     sync.Mutex
	warned map[az.InstanceID]bool
}

func (p *ownedProber) Probe(ctx context.Context, target netip.AddrPort) alb.Result {
	id, ok := p.at(target.Addr())
	if !ok {
		return p.next.Probe(ctx, target)
	}
	// Only a listener known to be another's fails the check; one the
	// runtime cannot place (an unreadable /proc, an engine that did not
	// answer) leaves the decision to the HTTP check.
	if err := p.owner.OwnsListener(ctx, id, target); errors.As(err, new(*sockowner.ForeignError)) {
		p.mu.Lock()
		first := !p.warned[id]
		p.warned[id] = true
		p.mu.Unlock()
		if first {
			p.say("Target %s fails its health checks: %v; it is not marked healthy, nor sent traffic, while that listener answers", id, err)
		}
		return alb.Result{Reason: alb.ReasonFailedHealthChecks, Detail: "Health checks failed"}
	}
	return p.next.Probe(ctx, target)
}

// ownedProberFor wraps the stack's HTTP health check when the runtime can
// tell whose listener answers; else the check is the plain one (nil: the
// load balancer's default).
func (l *Lab) ownedProberFor(cfg alb.Config) alb.Prober {
	owner, ok := l.Runtime.(listenerOwner)
	if !ok {
		return nil
	}
	hc := cfg.HealthCheck
	return &ownedProber{
		next:  alb.NewHTTPProber(hc.Path, cfg.Clock.Wall(hc.Timeout), hc.Matches),
		owner: owner,
		at: func(a netip.Addr) (az.InstanceID, bool) {
			if l.fleet == nil {
				return "", false
			}
			return l.fleet.at(a)
		},
		say:    l.say,
		warned: map[az.InstanceID]bool{},
	}
}

// at returns the instance the fleet gave address a.
func (f *fleet) at(a netip.Addr) (az.InstanceID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, addr := range f.addrs {
		if addr == a {
			return id, true
		}
	}
	return "", false
}
