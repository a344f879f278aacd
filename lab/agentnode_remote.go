package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

// agentNode is the controller's handle on a zone's node served by its
// agent (AgentNodeFactory on the other side): the seam the load
// balancer's remote nodes are to be reached through when lab's uses of
// l.LB fan out to them (not wired yet: see agentnode.go).
type agentNode struct {
	r     *agent.Remote
	zone  az.Zone
	addr  netip.AddrPort // where clients reach it: the zone's node address, the listener port
	delay time.Duration  // the deregistration delay, AWS time
	speed float64
}

// openAgentNode opens zone's node on its agent with cfg's data part for
// that zone alone and the run's speed.
func openAgentNode(ctx context.Context, r *agent.Remote, cfg alb.Config, zone az.Zone, speed float64) (*agentNode, error) {
	spec := alb.SpecOf(cfg)
	spec.Zones = []az.Zone{zone}
	raw, err := json.Marshal(AgentNodeOpen{Spec: spec, Speed: speed})
	if err != nil {
		return nil, fmt.Errorf("zone %s's node: %w", zone.Name, err)
	}
	if err := r.OpenNode(ctx, raw); err != nil {
		return nil, fmt.Errorf("zone %s's node on agent %s: %w", zone.Name, r.Agent(), err)
	}
	node := zone.Node
	if !node.IsValid() {
		node = zone.Subnet.Addr().Next()
	}
	return &agentNode{r: r, zone: zone, addr: netip.AddrPortFrom(node, uint16(cfg.Port)), delay: cfg.DeregistrationDelay, speed: speed}, nil
}

func (n *agentNode) register(ctx context.Context, group string, id az.InstanceID, zone string, addr netip.AddrPort) error {
	return n.r.RegisterTarget(ctx, agent.NodeTarget{ID: string(id), Addr: addr.String(), Zone: zone, Group: group})
}

// deregister starts the target's deregistration on the node; the
// channel gets nil once its draining is done there, or why it failed.
func (n *agentNode) deregister(id az.InstanceID) <-chan error {
	done := make(chan error, 1)
	// The wall time the node may drain for, and some for the call itself.
	limit := time.Duration(float64(n.delay)/n.speed) + fastNodeCall
	go func() { // ends within limit; the buffered send never blocks
		done <- n.r.DeregisterTarget(context.Background(), agent.NodeTarget{ID: string(id)}, limit)
	}()
	return done
}

// fastNodeCall bounds a node call beyond what the node itself waits for.
const fastNodeCall = 20 * time.Second

// health is the node's view of its targets, by id.
func (n *agentNode) health(ctx context.Context) (map[az.InstanceID]AgentNodeHealth, error) {
	var hs []AgentNodeHealth
	if err := n.r.NodeView(ctx, "health", &hs); err != nil {
		return nil, err
	}
	out := make(map[az.InstanceID]AgentNodeHealth, len(hs))
	for _, h := range hs {
		out[az.InstanceID(h.ID)] = h
	}
	return out, nil
}

// metrics is the node's counts, for CloudWatch under the same dimensions
// as a local node's.
func (n *agentNode) metrics(ctx context.Context) (alb.Snapshot, error) {
	var s alb.Snapshot
	err := n.r.NodeView(ctx, "metrics", &s)
	return s, err
}

func (n *agentNode) setUp(ctx context.Context, up bool) error { return n.r.SetNodeUp(ctx, up) }

func (n *agentNode) close(ctx context.Context) error { return n.r.CloseNode(ctx) }
