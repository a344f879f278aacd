package entry

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/simplydone/lab/clock"
)

// NodeSwitch takes a zone's load-balancer node down and brings it back
// (*alb.LoadBalancer is one): down means its listener is closed, so
// connections are refused.
type NodeSwitch interface {
	StopNode(zone string) error
	StartNode(zone string) error
}

var errNoSuchZone = errors.New("no such zone")

// NodeSpec is one load-balancer node in the cluster.
type NodeSpec struct {
	Zone   string
	Addr   netip.Addr // the node's address: its member binds there too
	Source ViewSource // the node's view of target health
	// Remote: the node serves on another host, whose own member joins the
	// cluster there (issue 20: its agent's); this cluster starts no member
	// for it, and StopZone and StartZone only switch the node.
	Remote bool
}

// ClusterConfig configures the nodes' cluster.
type ClusterConfig struct {
	Nodes  []NodeSpec
	Switch NodeSwitch // nil: StopZone and StartZone only move the members
	Clock  clock.Clock
	Timing Timing
	Logger *slog.Logger
	// Gossip is the run's cluster key and label; zero makes a new one
	// (NewGossip). The DNS server's observer needs the same (Cluster.Gossip).
	Gossip Gossip
}

// Cluster is the load balancer's nodes in one memberlist cluster.
type Cluster struct {
	cfg  ClusterConfig
	dur  Durations
	spec map[string]NodeSpec

	mu      sync.Mutex
	members map[string]*Member // live members by zone
	remote  map[string]bool    // remote nodes by zone: true while up
	ports   map[string]int     // each zone's memberlist port, kept across restarts
	seeds   []string           // other members to join through (the DNS observer)
	closed  bool
}

// StartCluster starts a member per node, each joining the ones before it.
func StartCluster(cfg ClusterConfig) (*Cluster, error) {
	if len(cfg.Nodes) == 0 || cfg.Clock == nil {
		return nil, errors.New("cluster: nodes and a clock are required")
	}
	if cfg.Gossip.Key == nil {
		g, err := NewGossip()
		if err != nil {
			return nil, err
		}
		cfg.Gossip = g
	}
	c := &Cluster{cfg: cfg, dur: cfg.Timing.Wall(cfg.Clock), spec: map[string]NodeSpec{},
		members: map[string]*Member{}, ports: map[string]int{}, remote: map[string]bool{}}
	for _, n := range cfg.Nodes {
		c.spec[n.Zone] = n
		if n.Remote {
			c.remote[n.Zone] = true
			continue
		}
		if err := c.start(n, 0); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Gossip is the cluster's key and label, for the DNS server's observer.
func (c *Cluster) Gossip() Gossip { return c.cfg.Gossip }

// Durations are the wall-time settings the members run with.
func (c *Cluster) Durations() Durations { return c.dur }

func (c *Cluster) start(n NodeSpec, port int) error {
	c.mu.Lock()
	peers := c.peersLocked()
	c.mu.Unlock()
	m, err := StartMember(MemberConfig{Name: n.Zone, Role: RoleNode, Bind: n.Addr.String(), Port: port,
		Timing: c.dur, Source: n.Source, Logger: c.cfg.Logger, Gossip: c.cfg.Gossip}, peers)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		m.Kill()
		return errors.New("cluster: closed")
	}
	c.members[n.Zone], c.ports[n.Zone] = m, m.Port()
	return nil
}

func (c *Cluster) peersLocked() []string {
	ps := slices.Clone(c.seeds)
	for _, z := range slices.Sorted(maps.Keys(c.members)) {
		ps = append(ps, c.members[z].Addr())
	}
	return ps
}

// AddSeed makes a restarted node join through addr too (the DNS server's
// observer), so that it finds the cluster even when every other node is down.
func (c *Cluster) AddSeed(addr string) {
	c.mu.Lock()
	c.seeds = append(c.seeds, addr)
	c.mu.Unlock()
}

// Peers are the live members' addresses, for another member to join.
func (c *Cluster) Peers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peersLocked()
}

// Member is zone's member, nil while its node is down.
func (c *Cluster) Member(zone string) *Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[zone]
}

// StopZone takes zone's node down as a zone failure does: its listener
// closes and its member stops without leaving. Nothing tells the others.
func (c *Cluster) StopZone(zone string) error {
	if c.spec[zone].Remote {
		return c.switchRemote(zone, false)
	}
	c.mu.Lock()
	m, ok := c.members[zone]
	delete(c.members, zone)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("cluster: stop %s: %w (or its node is already down)", zone, errNoSuchZone)
	}
	var errs []error
	if c.cfg.Switch != nil {
		errs = append(errs, c.cfg.Switch.StopNode(zone))
	}
	errs = append(errs, m.Kill())
	return errors.Join(errs...)
}

// StartZone brings zone's node back on the same addresses: its listener,
// then a new member that joins the live ones.
func (c *Cluster) StartZone(zone string) error {
	c.mu.Lock()
	n, known := c.spec[zone]
	_, up := c.members[zone]
	port := c.ports[zone]
	c.mu.Unlock()
	switch {
	case !known:
		return fmt.Errorf("cluster: start %s: %w", zone, errNoSuchZone)
	case up:
		return fmt.Errorf("cluster: start %s: its node is already up", zone)
	case n.Remote:
		return c.switchRemote(zone, true)
	}
	if c.cfg.Switch != nil {
		if err := c.cfg.Switch.StartNode(zone); err != nil {
			return err
		}
	}
	return c.start(n, port)
}

// switchRemote stops or starts a remote node: its own host stops or
// starts its member with it.
func (c *Cluster) switchRemote(zone string, up bool) error {
	c.mu.Lock()
	was := c.remote[zone]
	c.mu.Unlock()
	if was == up {
		return fmt.Errorf("cluster: %s's node is already %s", zone, map[bool]string{true: "up", false: "down"}[up])
	}
	if c.cfg.Switch != nil {
		var err error
		if up {
			err = c.cfg.Switch.StartNode(zone)
		} else {
			err = c.cfg.Switch.StopNode(zone)
		}
		if err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.remote[zone] = up
	c.mu.Unlock()
	return nil
}

// Views is the freshest view of each live node that any live member of
// this cluster holds (a remote node's as gossiped to them).
func (c *Cluster) Views() Views {
	c.mu.Lock()
	live := map[string]bool{}
	for z := range c.members {
		live[z] = true
	}
	for z, up := range c.remote {
		live[z] = up
	}
	members := maps.Clone(c.members)
	c.mu.Unlock()
	best := map[string]viewMsg{}
	for _, m := range members {
		for _, v := range m.views.all() {
			if !live[v.Node] {
				continue
			}
			if old, ok := best[v.Node]; !ok || v.newer(old) {
				best[v.Node] = v
			}
		}
	}
	out := Views{}
	for n, v := range best {
		out[n] = maps.Clone(v.Targets)
	}
	return out
}

// Close stops every member without leaving. Safe to call twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	c.closed = true
	ms := c.members
	c.members = map[string]*Member{}
	c.mu.Unlock()
	var errs []error
	for _, m := range ms {
		errs = append(errs, m.Kill())
	}
	return errors.Join(errs...)
}
