package entry

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// The agents' cluster (issue 20): the controller of a multi-host lab and
// the agent of each remote zone are members of one memberlist cluster of
// their own (the ALB nodes' cluster stays on the controller's loopback),
// so that memberlist's failure detector says when an agent's host is gone.
// An agent that leaves on purpose (its run ends) first says so in its
// member's metadata, so that the controller tells a leave from a death.

// metaLeaving is the metadata of an agent member about to leave.
const metaLeaving = "leaving"

// MaxDetection is the most time memberlist takes to declare a silent
// member dead when no other member confirms the suspicion, as in a small
// agents' cluster: up to a probe interval until the member's turn, a probe
// interval for the direct and indirect probes, then the suspicion timer at
// its longest (memberlist's SuspicionMaxTimeoutMult, 6, times its
// shortest).
func (d Durations) MaxDetection() time.Duration {
	return 2*d.ProbeInterval + time.Duration(suspicionMaxMult*d.SuspicionMult)*d.ProbeInterval
}

// suspicionMaxMult is DefaultLocalConfig's SuspicionMaxTimeoutMult, which
// memberlistConfig keeps.
var suspicionMaxMult = memberlist.DefaultLocalConfig().SuspicionMaxTimeoutMult

// AgentsConfig is the controller's member of the agents' cluster.
type AgentsConfig struct {
	Name   string // default "controller"
	Bind   string // an address every agent reaches
	Port   int    // 0: a free port
	Timing Durations
	Gossip Gossip // the run's key and label (NewGossip); required
	Logger *slog.Logger
	// OnDead is called when the failure detector declares an agent dead
	// (not when it leaves); OnAlive when an agent joins, first or again.
	// Both are called on memberlist's goroutine and must return quickly.
	OnDead  func(name string)
	OnAlive func(name string)
}

// Agents is the controller's member of the agents' cluster.
type Agents struct {
	cfg AgentsConfig
	ml  *memberlist.Memberlist

	mu      sync.Mutex
	alive   map[string]bool // agents alive in the controller's view
	leaving map[string]bool // agents that said they leave

	closed atomic.Bool
}

// StartAgents starts the controller's member; agents join it at Addr.
func StartAgents(cfg AgentsConfig) (*Agents, error) {
	if cfg.Name == "" {
		cfg.Name = "controller"
	}
	if err := cfg.Gossip.valid(); err != nil {
		return nil, fmt.Errorf("agents' cluster: %w", err)
	}
	a := &Agents{cfg: cfg, alive: map[string]bool{}, leaving: map[string]bool{}}
	mc := memberlistConfig(cfg.Name, cfg.Bind, cfg.Port, cfg.Timing, cfg.Logger)
	mc.SecretKey, mc.Label = cfg.Gossip.Key, cfg.Gossip.Label
	mc.Events = (*agentsEvents)(a)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("agents' cluster: start on %s:%d: %w", cfg.Bind, cfg.Port, err)
	}
	a.ml = ml
	return a, nil
}

// Addr is where agents join (ip:port).
func (a *Agents) Addr() string { return memberAddr(a.ml) }

// Durations are the cluster's timing, for the agents to use.
func (a *Agents) Durations() Durations { return a.cfg.Timing }

// Gossip is the cluster's key and label, for the agents to use.
func (a *Agents) Gossip() Gossip { return a.cfg.Gossip }

// Alive lists the agents alive in the controller's view.
func (a *Agents) Alive() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.alive)
}

// Close leaves the cluster and stops the member. Safe to call twice.
func (a *Agents) Close() error {
	if !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	a.ml.Leave(time.Second)
	if err := a.ml.Shutdown(); err != nil {
		return fmt.Errorf("agents' cluster: shut down: %w", err)
	}
	return nil
}

type agentsEvents Agents

func (e *agentsEvents) NotifyJoin(n *memberlist.Node) {
	a := (*Agents)(e)
	if n.Name == a.cfg.Name {
		return
	}
	a.mu.Lock()
	a.alive[n.Name] = true
	a.leaving[n.Name] = string(n.Meta) == metaLeaving
	a.mu.Unlock()
	if a.cfg.OnAlive != nil {
		a.cfg.OnAlive(n.Name)
	}
}

func (e *agentsEvents) NotifyUpdate(n *memberlist.Node) {
	a := (*Agents)(e)
	a.mu.Lock()
	a.leaving[n.Name] = string(n.Meta) == metaLeaving
	a.mu.Unlock()
}

func (e *agentsEvents) NotifyLeave(n *memberlist.Node) {
	a := (*Agents)(e)
	if n.Name == a.cfg.Name {
		return
	}
	a.mu.Lock()
	left := a.leaving[n.Name] || string(n.Meta) == metaLeaving
	delete(a.alive, n.Name)
	delete(a.leaving, n.Name)
	a.mu.Unlock()
	if left {
		if a.cfg.Logger != nil {
			a.cfg.Logger.Info("agents' cluster: an agent left", "agent", n.Name)
		}
		return
	}
	if a.cfg.OnDead != nil {
		a.cfg.OnDead(n.Name)
	}
}

// AgentMemberConfig is an agent's member of the agents' cluster.
type AgentMemberConfig struct {
	Name   string // unique in the cluster (the controller names it: its zone)
	Bind   string // the agent's listen address
	Port   int    // by convention the agent's API port + 1; 0: a free port
	Timing Durations
	Gossip Gossip
	Logger *slog.Logger
}

// AgentMember is an agent's member of the agents' cluster.
type AgentMember struct {
	cfg  AgentMemberConfig
	ml   *memberlist.Memberlist
	meta atomic.Value // string
	done atomic.Bool
}

// JoinAgents starts the agent's member and joins the controller's at
// controller (ip:port).
func JoinAgents(cfg AgentMemberConfig, controller string) (*AgentMember, error) {
	if err := cfg.Gossip.valid(); err != nil {
		return nil, fmt.Errorf("agent member %s: %w", cfg.Name, err)
	}
	m := &AgentMember{cfg: cfg}
	m.meta.Store("")
	mc := memberlistConfig(cfg.Name, cfg.Bind, cfg.Port, cfg.Timing, cfg.Logger)
	mc.SecretKey, mc.Label = cfg.Gossip.Key, cfg.Gossip.Label
	mc.Delegate = (*agentDelegate)(m)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("agent member %s: start on %s:%d: %w", cfg.Name, cfg.Bind, cfg.Port, err)
	}
	if _, err := ml.Join([]string{controller}); err != nil {
		ml.Shutdown()
		return nil, fmt.Errorf("agent member %s: join the controller at %s: %w", cfg.Name, controller, err)
	}
	m.ml = ml
	return m, nil
}

// Addr is where the member listens (ip:port).
func (m *AgentMember) Addr() string { return memberAddr(m.ml) }

// Leave says the agent leaves (its metadata, gossiped first), leaves and
// stops the member: the controller hears a leave, not a death. Safe to
// call twice, and after Kill.
func (m *AgentMember) Leave(timeout time.Duration) error {
	if !m.done.CompareAndSwap(false, true) {
		return nil
	}
	m.meta.Store(metaLeaving)
	if err := m.ml.UpdateNode(timeout); err != nil && m.cfg.Logger != nil {
		m.cfg.Logger.Warn("agent member: saying it leaves", "err", err)
	}
	if err := m.ml.Leave(timeout); err != nil && m.cfg.Logger != nil {
		m.cfg.Logger.Warn("agent member: leaving", "err", err)
	}
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("agent member %s: shut down: %w", m.cfg.Name, err)
	}
	return nil
}

// Kill stops the member without a word, as a host that dies: the
// controller learns of it through its failure detector.
func (m *AgentMember) Kill() error {
	if !m.done.CompareAndSwap(false, true) {
		return nil
	}
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("agent member %s: shut down: %w", m.cfg.Name, err)
	}
	return nil
}

// agentDelegate gives the member's metadata; agents gossip nothing else.
type agentDelegate AgentMember

func (d *agentDelegate) NodeMeta(limit int) []byte {
	s, _ := (*AgentMember)(d).meta.Load().(string)
	if len(s) > limit {
		return nil
	}
	return []byte(s)
}
func (d *agentDelegate) NotifyMsg([]byte)                {}
func (d *agentDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (d *agentDelegate) LocalState(bool) []byte          { return nil }
func (d *agentDelegate) MergeRemoteState([]byte, bool)   {}

func memberAddr(ml *memberlist.Memberlist) string {
	n := ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}
