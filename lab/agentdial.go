package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"

	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/entry"
)

// openOnAgent is dialAgent for real agents (sim/agent): TLS and the
// token's check, then the run opened there with its driver; join, when
// set, has the agent join the controller's cluster for the run.
func openOnAgent(ctx context.Context, addr string, token []byte, runID, driver string, join *agent.JoinSpec) (remoteZone, netip.Prefix, error) {
	r, err := agent.DialOpen(ctx, addr, token, agent.OpenOptions{Run: runID, Driver: driver, Join: join})
	if err != nil {
		return nil, netip.Prefix{}, err // never a nil *Remote inside the interface
	}
	return r, r.Subnet(), nil
}

// startAgentCluster starts the controller's member of the agents'
// memberlist cluster (sim/entry.StartAgents), bound on the address this
// host reaches the first agent from, so that memberlist's failure detector
// says when an agent's host is gone: its zone is then lost (zoneLost).
// The timing is the load balancer cluster's (30-50 AWS seconds to declare
// a silent member dead, as Route 53's fast health checks). It returns the
// member and the join spec for each zone's agent (its member name is the
// zone's), or an error.
func (l *Lab) startAgentCluster(firstAgent string, zr func() *zonedRuntime) (*entry.Agents, func(zone string) *agent.JoinSpec, error) {
	bind, err := localAddrToward(firstAgent)
	if err != nil {
		return nil, nil, fmt.Errorf("the agents' cluster: which address reaches agent %s: %w", firstAgent, err)
	}
	l.agentBind = bind
	g, err := entry.NewGossip()
	if err != nil {
		return nil, nil, err
	}
	d := entry.Timing{}.Wall(l.Clock)
	timing, err := json.Marshal(d)
	if err != nil {
		return nil, nil, err
	}
	c, err := entry.StartAgents(entry.AgentsConfig{Name: "controller", Bind: bind.String(), Timing: d, Gossip: g, Logger: l.opts.Logger,
		OnDead: func(zone string) {
			if z := zr(); z != nil {
				z.memberDead(zone) // on memberlist's goroutine: hands it on and returns
			}
		}})
	if err != nil {
		return nil, nil, fmt.Errorf("the agents' cluster: %w", err)
	}
	join := func(zone string) *agent.JoinSpec {
		return &agent.JoinSpec{Name: zone, Controller: c.Addr(), Key: g.Key, Label: g.Label, Timing: timing}
	}
	return c, join, nil
}

// localAddrToward is this host's address on the route to addr: a UDP
// socket connected there (connecting a UDP socket sends nothing) names it.
func localAddrToward(addr string) (netip.Addr, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}
