package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/capfile"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/entry"
)

// A zone's load-balancer node on its agent's host (issue 20, item 1):
// the same sim/alb code as a local node, made on the agent from the
// controller's alb.Spec by AgentNodeFactory, which cmd/lab injects into
// the agent (sim/agent imports no other AWS part). This is the agent's
// half; the controller's half (the remote nodes behind lab's uses of the
// load balancer) is not built yet.

// AgentNodeOpen is what the controller sends an agent to open its zone's
// node: the load balancer's spec for that one zone, and the run's clock
// speed (the node's durations are AWS durations; only wall time crosses
// the wire, so the agent runs a clock of the same speed).
type AgentNodeOpen struct {
	Spec  alb.Spec `json:"spec"`
	Speed float64  `json:"speed"`
	// Start is the wall time at which the controller's AWS clock agreed
	// with the wall (clock.Scaled.Start): the node's clock starts there
	// too, so its access log and events say the controller's AWS time.
	Start time.Time `json:"start"`
}

// AgentNodeHealth is one target as the agent's node sees it.
type AgentNodeHealth struct {
	ID          string `json:"id"`
	Zone        string `json:"zone"`
	Group       string `json:"group"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// AgentNodeFactory makes a zone's node on an agent: alb.New with the one
// zone the spec names, serving at that zone's node address. Its health
// checks are HTTP from the agent's host, behind the check that a target's
// address is answered by its own instance's listener (lab/owner.go), as
// the controller's nodes do, when the run's runtime on this host can tell
// (the process runtime reads /proc; an engine is asked): a listener that
// is not the instance's own is never marked healthy, nor dialled.
func AgentNodeFactory(log *slog.Logger) agent.NodeFactory {
	return func(ctx context.Context, runID string, raw json.RawMessage, dir string, rt az.Runtime) (agent.NodeHost, error) {
		var o AgentNodeOpen
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("node spec: %w", err)
		}
		if len(o.Spec.Zones) != 1 {
			return nil, fmt.Errorf("node spec names %d zones; an agent serves one zone's node", len(o.Spec.Zones))
		}
		clk, err := clock.NewScaled(o.Speed)
		if !o.Start.IsZero() {
			clk, err = clock.NewScaledFrom(o.Speed, o.Start)
		}
		if err != nil {
			return nil, fmt.Errorf("node spec: %w", err)
		}
		cfg := o.Spec.Config()
		h := &albNodeHost{zone: o.Spec.Zones[0].Name}
		h.log = log.With("run", runID, "zone", h.zone)
		cfg.Clock, cfg.Events, cfg.Logger = clk, h, h.log
		var accessLog *os.File
		if o.Spec.AccessLog { // capped as the controller's is
			var w *capfile.Writer
			if w, accessLog, err = capfile.Open(filepath.Join(dir, agent.NodeAccessLog), capfile.Limit); err != nil {
				return nil, fmt.Errorf("node access log: %w", err)
			}
			cfg.AccessLog = w
		}
		if owner, ok := rt.(listenerOwner); ok {
			say := func(format string, args ...any) { h.log.Warn(fmt.Sprintf(format, args...)) }
			guardOwned(&cfg, func(c alb.Config) *ownedProber { return newOwnedProber(c, owner, h.targetAt, say) })
		}
		lb, err := alb.New(cfg)
		if err == nil {
			err = lb.Start(context.WithoutCancel(ctx))
		}
		if err != nil {
			if accessLog != nil {
				accessLog.Close()
			}
			return nil, fmt.Errorf("zone %s's node: %w", h.zone, err)
		}
		h.lb, h.accessLog = lb, accessLog
		return h, nil
	}
}

// AgentNodeJoin is what the controller sends an agent's node to join the
// run's load-balancer cluster (sim/entry): the cluster's key and label,
// its failure detector's wall durations and members to join through.
type AgentNodeJoin struct {
	Gossip entry.Gossip    `json:"gossip"`
	Timing entry.Durations `json:"timing"`
	Peers  []string        `json:"peers"`
}

// albNodeHost is an agent.NodeHost on a one-zone alb.LoadBalancer.
type albNodeHost struct {
	lb        *alb.LoadBalancer
	zone      string
	accessLog *os.File // nil: none
	events    atomic.Int64
	log       *slog.Logger

	mu     sync.Mutex
	join   *AgentNodeJoin // nil: not in the cluster
	member *entry.Member  // nil: none (not joined, or the node is down)
	port   int            // the member's port, kept across the node's restarts
}

// Publish counts the node's events. They do not cross the wire: the
// controller's mirror of the node publishes its changes of target health
// and of anomaly detection (ATW) from the node's state (sim/alb/remote.go);
// its other events stay here.
func (h *albNodeHost) Publish(events.Event) { h.events.Add(1) }

func (h *albNodeHost) Register(_ context.Context, t agent.NodeTarget) error {
	addr, err := netip.ParseAddrPort(t.Addr)
	if err != nil {
		return fmt.Errorf("register target %s: address %q: %w", t.ID, t.Addr, err)
	}
	if cur := h.target(az.InstanceID(t.ID)); cur != nil && cur.Addr == addr {
		return nil // registered already: the controller tries again when it heard no answer
	}
	if t.Group == "" {
		return h.lb.Register(az.InstanceID(t.ID), t.Zone, addr)
	}
	return h.lb.RegisterIn(t.Group, az.InstanceID(t.ID), t.Zone, addr)
}

// target is the registered target id, nil when none.
func (h *albNodeHost) target(id az.InstanceID) *alb.Target {
	for _, t := range h.lb.Targets() {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// targetAt is the target registered here at address a: the instance the
// check of who answers asks the runtime about (the controller registered
// it with the address its fleet gave it). None before the node is made.
func (h *albNodeHost) targetAt(a netip.Addr) (az.InstanceID, bool) {
	if h.lb == nil {
		return "", false
	}
	for _, t := range h.lb.Targets() {
		if t.Addr.Addr() == a {
			return t.ID, true
		}
	}
	return "", false
}

// Deregister deregisters the target and waits for its draining; a target
// not registered (never, or gone after its delay) or draining already is
// done: the controller tries again when it heard no answer.
func (h *albNodeHost) Deregister(ctx context.Context, t agent.NodeTarget) error {
	if h.target(az.InstanceID(t.ID)) == nil {
		return nil
	}
	drained, err := h.lb.Deregister(az.InstanceID(t.ID))
	if err != nil {
		return nil // draining already (the only other refusal, once registered)
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("deregister target %s: draining not done: %w", t.ID, ctx.Err())
	}
}

func (h *albNodeHost) Health() (json.RawMessage, error) {
	var out []AgentNodeHealth
	for _, t := range h.lb.Targets() {
		v, ok := h.lb.Health(t.ID)[h.zone]
		if !ok {
			continue
		}
		out = append(out, AgentNodeHealth{ID: string(t.ID), Zone: t.Zone, Group: t.Group,
			State: string(v.State), Reason: string(v.Reason), Description: v.Description})
	}
	return json.Marshal(out)
}

func (h *albNodeHost) Metrics() (json.RawMessage, error) {
	return json.Marshal(h.lb.Nodes()[0].Metrics())
}

func (h *albNodeHost) State() (json.RawMessage, error) {
	st, err := h.lb.NodeState(h.zone)
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

func (h *albNodeHost) InjectFault(raw json.RawMessage) (func() int64, error) {
	var f alb.Fault
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("fault spec: %w", err)
	}
	return h.lb.InjectFault(f)
}

// AgentNodeWeights is a forward action's new weights (alb.SetForwardWeights).
type AgentNodeWeights struct {
	Priority int                 `json:"priority"`
	Weights  []alb.WeightedGroup `json:"weights"`
}

func (h *albNodeHost) SetWeights(raw json.RawMessage) error {
	var w AgentNodeWeights
	if err := json.Unmarshal(raw, &w); err != nil {
		return fmt.Errorf("weights spec: %w", err)
	}
	return h.lb.SetForwardWeights(w.Priority, w.Weights)
}

// Join starts the node's cluster member, as the controller's Cluster
// starts a local node's: named for its zone, bound on the node's address,
// gossiping the node's view of target health.
func (h *albNodeHost) Join(raw json.RawMessage) error {
	var j AgentNodeJoin
	if err := json.Unmarshal(raw, &j); err != nil {
		return fmt.Errorf("cluster spec: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.join != nil {
		return fmt.Errorf("zone %s's node is in the cluster already", h.zone)
	}
	h.join = &j
	if !h.lb.NodeUp(h.zone) {
		return nil // it joins when the node starts
	}
	return h.startMemberLocked()
}

func (h *albNodeHost) startMemberLocked() error {
	n := h.lb.Nodes()[0]
	m, err := entry.StartMember(entry.MemberConfig{Name: h.zone, Role: entry.RoleNode, Bind: n.AddrPort().Addr().String(), Port: h.port,
		Timing: h.join.Timing, Source: n, Logger: h.log, Gossip: h.join.Gossip}, h.join.Peers)
	if err != nil {
		return fmt.Errorf("zone %s's node: join the load balancer's cluster: %w", h.zone, err)
	}
	h.member, h.port = m, m.Port()
	return nil
}

// SetUp starts or stops the node with its cluster member, as the
// controller's Cluster does a local node's (StopZone, StartZone): a
// stopped node's member stops without leaving.
func (h *albNodeHost) SetUp(up bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !up {
		err := h.lb.StopNode(h.zone)
		if h.member != nil {
			err = errors.Join(err, h.member.Kill())
			h.member = nil
		}
		return err
	}
	if err := h.lb.StartNode(h.zone); err != nil {
		return err
	}
	if h.join == nil || h.member != nil {
		return nil
	}
	return h.startMemberLocked()
}

func (h *albNodeHost) Close() error {
	h.mu.Lock()
	var err error
	if h.member != nil {
		err = h.member.Kill()
		h.member = nil
	}
	h.mu.Unlock()
	err = errors.Join(err, h.lb.Close())
	if h.accessLog != nil {
		err = errors.Join(err, h.accessLog.Close())
	}
	return err
}
