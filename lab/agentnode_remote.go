package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/capfile"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/entry"
)

// agentNode is the controller's handle on a zone's node served by its
// agent (AgentNodeFactory on the other side): an alb.RemoteNode, which
// the run's load balancer keeps a mirror of (sim/alb/remote.go), so that
// the lab's uses of l.LB see it as a local node.
type agentNode struct {
	r *agent.Remote
	// bind binds a call to the zone's life (zonedRuntime.zoneCall): a call
	// to a lost zone's host ends at once; nil: unbound.
	bind  func(context.Context) (context.Context, context.CancelFunc, error)
	zone  az.Zone
	addr  netip.AddrPort // where clients reach it: the zone's node address, the listener port
	delay time.Duration  // the deregistration delay, AWS time
	speed float64
	log   *slog.Logger
}

// openAgentNode opens zone's node on its agent with cfg's data part for
// that zone alone and the run's speed.
func openAgentNode(ctx context.Context, r *agent.Remote, cfg alb.Config, zone az.Zone, clk *clock.Scaled, log *slog.Logger) (*agentNode, error) {
	spec := alb.SpecOf(cfg)
	spec.Zones = []az.Zone{zone}
	speed := clk.Speed()
	raw, err := json.Marshal(AgentNodeOpen{Spec: spec, Speed: speed, Start: clk.Start()})
	if err != nil {
		return nil, fmt.Errorf("zone %s's node: %w", zone.Name, err)
	}
	if err := r.OpenNode(ctx, raw); err != nil {
		return nil, fmt.Errorf("zone %s's node on agent %s: %w", zone.Name, r.Agent(), err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &agentNode{r: r, zone: zone, addr: netip.AddrPortFrom(zone.NodeAddr(), uint16(cfg.Port)), delay: cfg.DeregistrationDelay, speed: speed, log: log}, nil
}

// openAgentNodes opens the load balancer's node on the agent of every zone
// that runs one there (startAgents), with cfg's data for that zone, and
// puts them in cfg.Remote: the load balancer keeps a mirror of each.
func (l *Lab) openAgentNodes(ctx context.Context, cfg *alb.Config) error {
	zr, _ := l.Runtime.(*zonedRuntime)
	for _, z := range l.Zones {
		r := l.nodeAgents[z.Name]
		if r == nil {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, fastNodeCall)
		n, err := openAgentNode(octx, r, *cfg, z, l.Clock, l.opts.Logger)
		cancel()
		if err != nil {
			return err
		}
		if zr != nil {
			name := z.Name
			n.bind = func(ctx context.Context) (context.Context, context.CancelFunc, error) { return zr.zoneCall(ctx, name) }
		}
		if cfg.Remote == nil {
			cfg.Remote, l.agentNodes = map[string]alb.RemoteNode{}, map[string]*agentNode{}
		}
		cfg.Remote[z.Name], l.agentNodes[z.Name] = n, n
	}
	return nil
}

// joinAgentNodes makes every agent's node a member of the load balancer's
// cluster, joining through peers (the DNS server's health checker among
// them), as a local node's member is.
func (l *Lab) joinAgentNodes(ctx context.Context, g entry.Gossip, d entry.Durations, peers []string) error {
	for _, z := range l.Zones {
		n := l.agentNodes[z.Name]
		if n == nil {
			continue
		}
		jctx, cancel := context.WithTimeout(ctx, fastNodeCall)
		err := n.join(jctx, AgentNodeJoin{Gossip: g, Timing: d, Peers: peers})
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// do runs a call to the node with ctx bound to the zone's life: a lost
// zone's call ends at once.
func (n *agentNode) do(ctx context.Context, call func(context.Context) error) error {
	if n.bind == nil {
		return call(ctx)
	}
	ctx, cancel, err := n.bind(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	return call(ctx)
}

func (n *agentNode) Register(ctx context.Context, t alb.RemoteTarget) error {
	return n.do(ctx, func(ctx context.Context) error {
		return n.r.RegisterTarget(ctx, agent.NodeTarget{ID: string(t.ID), Addr: t.Addr.String(), Zone: t.Zone, Group: t.Group})
	})
}

// Deregister returns once the target's draining is done on the node, or
// when the node may drain no longer (the deregistration delay in wall
// time, and some for the call itself).
func (n *agentNode) Deregister(ctx context.Context, id az.InstanceID) error {
	limit := time.Duration(float64(n.delay)/n.speed) + fastNodeCall
	return n.do(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		return n.r.DeregisterTarget(ctx, agent.NodeTarget{ID: string(id)}, limit)
	})
}

// fastNodeCall bounds a node call beyond what the node itself waits for.
const fastNodeCall = 20 * time.Second

// State is the node's view of its targets and its counts (alb.NodeState).
func (n *agentNode) State(ctx context.Context) (alb.NodeState, error) {
	var s alb.NodeState
	err := n.do(ctx, func(ctx context.Context) error { return n.r.NodeView(ctx, "state", &s) })
	return s, err
}

func (n *agentNode) SetUp(ctx context.Context, up bool) error {
	return n.do(ctx, func(ctx context.Context) error { return n.r.SetNodeUp(ctx, up) })
}

// InjectFault installs f on the node; its remove reports what it can
// (an agent that cannot be reached reverts the fault itself when its
// lease lapses: the dead-man switch).
func (n *agentNode) InjectFault(ctx context.Context, f alb.Fault) (func() int64, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var remove func(context.Context) (int64, error)
	err = n.do(ctx, func(ctx context.Context) (err error) {
		remove, err = n.r.InjectNodeFault(ctx, raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	return func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), fastNodeCall)
		defer cancel()
		hits, err := remove(ctx)
		if err != nil {
			n.log.Warn("remove a request fault on the load balancer node (its agent reverts it when its lease lapses)", "zone", n.zone.Name, "err", err)
		}
		return hits
	}, nil
}

func (n *agentNode) SetForwardWeights(ctx context.Context, priority int, ws []alb.WeightedGroup) error {
	raw, err := json.Marshal(AgentNodeWeights{Priority: priority, Weights: ws})
	if err != nil {
		return err
	}
	return n.do(ctx, func(ctx context.Context) error { return n.r.SetNodeWeights(ctx, raw) })
}

// join makes the node a member of the run's load-balancer cluster.
func (n *agentNode) join(ctx context.Context, j AgentNodeJoin) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := n.r.JoinNode(ctx, raw); err != nil {
		return fmt.Errorf("zone %s's node on agent %s: join the load balancer's cluster: %w", n.zone.Name, n.r.Agent(), err)
	}
	return nil
}

func (n *agentNode) close(ctx context.Context) error { return n.r.CloseNode(ctx) }

// closeAgentNodes closes each agent's node (its access log flushed there)
// and reads its access log; mergeAccessLogs then puts their lines into
// the run's. A node that cannot be reached (its host lost) keeps its log.
func (l *Lab) closeAgentNodes() [][]byte {
	var logs [][]byte
	for _, z := range l.Zones {
		n := l.agentNodes[z.Name]
		if n == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), fastNodeCall)
		var b []byte
		err := n.do(ctx, func(ctx context.Context) (err error) {
			if err = n.close(ctx); err == nil {
				b, err = n.r.NodeAccessLog(ctx)
			}
			return err
		})
		cancel()
		if err != nil {
			l.opts.Logger.Warn("the load balancer node's access log stays on its host", "zone", z.Name, "agent", n.r.Agent(), "err", err)
			continue
		}
		logs = append(logs, b)
	}
	return logs
}

// mergeAccessLogs merges the remote nodes' access logs into path, every
// line in the order of its time (the second field; a line without one,
// the cap's note, last), capped as the run's access log is.
func mergeAccessLogs(path string, remote [][]byte) error {
	if len(remote) == 0 {
		return nil
	}
	local, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	type line struct {
		at   time.Time
		text []byte
	}
	var lines []line
	for _, b := range append([][]byte{local}, remote...) {
		for text := range bytes.Lines(b) {
			if !bytes.HasSuffix(text, []byte("\n")) {
				text = append(slices.Clone(text), '\n')
			}
			at := time.Unix(1<<40, 0) // no time: last
			if f := bytes.SplitN(text, []byte(" "), 3); len(f) == 3 {
				if t, err := time.Parse(time.RFC3339Nano, string(f[1])); err == nil {
					at = t
				}
			}
			lines = append(lines, line{at: at, text: text})
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	tmp := path + ".merge"
	os.Remove(tmp)
	w, f, err := capfile.Open(tmp, capfile.Limit)
	if err != nil {
		return err
	}
	for _, ln := range lines {
		if _, err := w.Write(ln.text); err != nil {
			break
		}
	}
	if err := errors.Join(w.Err(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
