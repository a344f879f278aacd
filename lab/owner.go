package lab

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

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
	now   func() time.Time // wall clock, for how fresh a verdict is

	mu       sync.Mutex
	warned   map[az.InstanceID]bool
	verdicts map[az.InstanceID]ownerVerdict
	checks   singleflight.Group // one check of an instance at a time; concurrent dials share it
}

// ownerVerdict is the last check of who answers at an instance's address.
type ownerVerdict struct {
	foreign error // a *sockowner.ForeignError (wrapped); nil: the instance's own, nothing, or cannot tell
	at      time.Time
}

// verdictFresh is how long (wall time) a dial trusts the last check of an
// instance's listener before it checks again: a dial costs at most one
// check a second per instance, and a listener that turns foreign is
// refused within a second even between health checks.
const verdictFresh = time.Second

func (p *ownedProber) Probe(ctx context.Context, target netip.AddrPort) alb.Result {
	id, ok := p.at(target.Addr())
	if !ok {
		return p.next.Probe(ctx, target)
	}
	if err := p.check(ctx, id, target); err != nil {
		return failedOwnerCheck
	}
	res := p.next.Probe(ctx, target)
	// The check before the probe leaves a window: a listener bound at the
	// address after it and before the probe's connect would get the
	// request. The probe's dial checks again once connected (dialChecked),
	// before a byte is sent, and a foreign verdict there fails the check.
	p.mu.Lock()
	foreign := p.verdicts[id].foreign
	p.mu.Unlock()
	if foreign != nil {
		return failedOwnerCheck
	}
	return res
}

var failedOwnerCheck = alb.Result{Reason: alb.ReasonFailedHealthChecks, Detail: "Health checks failed"}

// dialChecked is the health check's dial: it connects, then asks who holds
// the listener at the address before the check's request is written, so
// that a listener that took the address after the check before the probe
// never gets the request. A foreign listener closes the connection unused.
func (p *ownedProber) dialChecked(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ap, perr := netip.ParseAddrPort(addr)
		if perr != nil {
			return c, nil
		}
		id, ok := p.at(ap.Addr())
		if !ok {
			return c, nil
		}
		if err := p.check(ctx, id, ap); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

// AllowDial is the load balancer's dial guard (alb.DialGuard): a node
// never opens a connection to an address a foreign listener answers, so
// even fail-open routing (every target of a node unhealthy, when AWS
// routes to all of them) sends such a listener nothing: the request gets a
// 502. The last check's verdict is used while it is fresh.
func (p *ownedProber) AllowDial(ctx context.Context, id az.InstanceID, addr netip.AddrPort) error {
	p.mu.Lock()
	v, ok := p.verdicts[id]
	p.mu.Unlock()
	if ok && p.now().Sub(v.at) < verdictFresh {
		return v.foreign
	}
	// A stale verdict: the dials that find it at once (a burst of requests
	// on the proxy's path) wait for one check instead of each reading /proc
	// or asking the engine.
	_, err, _ := p.checks.Do(string(id), func() (any, error) { return nil, p.check(ctx, id, addr) })
	return err
}

// check asks the runtime who answers at addr, remembers the verdict, and
// returns an error only when the listener is known to be another's. Only a
// listener known to be another's fails the check; one the runtime cannot
// place (an unreadable /proc, an engine that did not answer) leaves the
// decision to the HTTP check.
func (p *ownedProber) check(ctx context.Context, id az.InstanceID, addr netip.AddrPort) error {
	err := p.owner.OwnsListener(ctx, id, addr)
	if !errors.As(err, new(*sockowner.ForeignError)) {
		err = nil
	}
	p.mu.Lock()
	p.verdicts[id] = ownerVerdict{foreign: err, at: p.now()}
	first := err != nil && !p.warned[id]
	if err != nil {
		p.warned[id] = true
	}
	p.mu.Unlock()
	if first {
		p.say("Target %s fails its health checks: %v; it is not marked healthy, nor sent traffic, while that listener answers", id, err)
	}
	return err
}

// ownedProberFor wraps the stack's HTTP health check when the runtime can
// tell whose listener answers, and guards the nodes' dials with the same
// check; else nil (the load balancer's default check, and no guard).
func (l *Lab) ownedProberFor(cfg alb.Config) *ownedProber {
	owner, ok := l.Runtime.(listenerOwner)
	if !ok {
		return nil
	}
	return newOwnedProber(cfg, owner, func(a netip.Addr) (az.InstanceID, bool) {
		if l.fleet == nil {
			return "", false
		}
		return l.fleetAt(a) // any service's (services.go)
	}, l.say)
}

// newOwnedProber is cfg's HTTP health check behind owner's check of who
// answers; at gives the instance at an address, say tells the user.
func newOwnedProber(cfg alb.Config, owner listenerOwner, at func(netip.Addr) (az.InstanceID, bool), say func(format string, args ...any)) *ownedProber {
	hc := cfg.HealthCheck
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: cfg.Clock.Wall(hc.Timeout)}).DialContext
	}
	p := &ownedProber{
		owner:    owner,
		at:       at,
		say:      say,
		now:      time.Now,
		warned:   map[az.InstanceID]bool{},
		verdicts: map[az.InstanceID]ownerVerdict{},
	}
	p.next = alb.NewHTTPProberDial(hc.Path, cfg.Clock.Wall(hc.Timeout), hc.Matches, p.dialChecked(dial))
	return p
}

// guardOwned puts the check of who answers (mk; nil: none) behind cfg's
// health check and its dials, and behind each other target group's check.
func guardOwned(cfg *alb.Config, mk func(alb.Config) *ownedProber) {
	op := mk(*cfg)
	if op == nil {
		return
	}
	cfg.Prober, cfg.DialGuard = op, op
	for i := range cfg.TargetGroups { // the other services' target groups, each its own check (services.go)
		one := *cfg
		one.HealthCheck = cfg.TargetGroups[i].HealthCheck
		cfg.TargetGroups[i].Prober = mk(one)
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
