package alb

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// A zone's node may serve on another host (issue 20: on the zone's agent,
// made there by New from this load balancer's Spec for that zone alone).
// The load balancer keeps a mirror of it among its Nodes: the mirror does
// not listen and does not health-check; registrations, deregistrations and
// stop and start go to the remote node, and the mirror's view of the
// targets, its counters and its target groups' traffic are the remote
// node's, read every remotePoll (NodeState). So everything that reads the
// load balancer (DescribeTargetHealth's fold, the Auto Scaling group's ELB
// health check, the target group health thresholds, CloudWatch, the
// observation) sees a remote node as it sees a local one, one poll late.

// RemoteNode is a zone's node on another host, as the load balancer
// reaches it.
type RemoteNode interface {
	// Register adds t to the remote node's target group t.Group.
	Register(ctx context.Context, t RemoteTarget) error
	// Deregister starts t's deregistration there and returns once its
	// draining is done there (idle, or the deregistration delay over).
	Deregister(ctx context.Context, id az.InstanceID) error
	// State is the remote node's view of its targets and its counts now.
	State(ctx context.Context) (NodeState, error)
	// SetUp starts (true) or stops (false) the remote node, as StartNode
	// and StopNode do a local one.
	SetUp(ctx context.Context, up bool) error
	// InjectFault installs a request fault on the remote node; remove
	// takes it away and returns how many requests it hit there.
	InjectFault(ctx context.Context, f Fault) (remove func() int64, err error)
	// SetForwardWeights sets a forward action's weights on the remote
	// node, as SetForwardWeights does here.
	SetForwardWeights(ctx context.Context, priority int, ws []WeightedGroup) error
}

// RemoteTarget is a target as a remote node registers it.
type RemoteTarget struct {
	ID    az.InstanceID
	Zone  string
	Addr  netip.AddrPort
	Group string
}

// NodeState is a node's view of its targets and its counts: what a
// mirror takes from the node it mirrors.
type NodeState struct {
	Targets []TargetView        `json:"targets"`
	Metrics Snapshot            `json:"metrics"`
	Groups  []TargetGroupCounts `json:"groups"` // its traffic per target group; InFlight its own
	// Anomalies is the node's Automatic Target Weights view of each
	// target it has judged (atw.go): its result, whether mitigation is in
	// effect and its weight, with the window's counts.
	Anomalies []TargetAnomaly `json:"anomalies,omitempty"`
}

// TargetAnomaly is one node's anomaly detection of one target.
type TargetAnomaly struct {
	ID                 az.InstanceID `json:"id"`
	Result             string        `json:"result"`
	MitigationInEffect string        `json:"mitigation_in_effect"`
	Weight             float64       `json:"weight"`
	Requests           int64         `json:"requests"` // in the detection window
	Errors             int64         `json:"errors"`
}

// TargetView is one node's health of one target.
type TargetView struct {
	ID          az.InstanceID `json:"id"`
	State       State         `json:"state"`
	Reason      Reason        `json:"reason,omitempty"`
	Description string        `json:"description,omitempty"`
}

// remotePoll is how often, in wall time, a mirror reads its remote node.
// At 10x a health check interval of 5 AWS s is 500 ms of wall time: a
// change of health reaches the mirror within a fifth of an interval.
const remotePoll = 100 * time.Millisecond

// mirror is a remote node's last state, on its mirror, and the calls
// queued for it.
type mirror struct {
	remote RemoteNode
	state  atomic.Pointer[NodeState] // nil until the first poll answers
	// answered is when the remote node last answered a poll (wall, Unix
	// nanoseconds); Start sets it, so a node is not silent before its first.
	answered atomic.Int64
	silence  time.Duration // how long it may be silent before its view stops counting (stale)

	mu   sync.Mutex
	ops  []remoteOp    // in order; ops[0] is being tried
	wake chan struct{} // a new op: buffered, one
}

// remoteOp is one call to a remote node that changes it (a registration,
// a deregistration, a fault's removal): tried until it succeeds, in the
// order made, so that a node that cannot be reached for a while (its host
// cut off the network) catches up when it can, and a caller never waits
// on a host that does not answer. done, when set, gets the outcome.
type remoteOp struct {
	what string
	do   func(context.Context) error
	done chan error // buffered, one; nil: nobody waits
}

// remoteGiveUp is how long, in wall time, an op is retried: a host
// unreachable for longer is a lost host (its zone is lost; its agent
// undoes the run's faults and ends the run by its own lease).
const remoteGiveUp = 10 * time.Minute

// remoteRetry is the wall time between two tries of an op.
const remoteRetry = time.Second

// queue appends op to n's outbox.
func (m *mirror) queue(op remoteOp) {
	m.mu.Lock()
	m.ops = append(m.ops, op)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// runOutbox carries out n's queued ops in order until ctx ends.
func (lb *LoadBalancer) runOutbox(ctx context.Context, n *Node) {
	m := n.mirror
	for {
		m.mu.Lock()
		var op remoteOp
		next := len(m.ops) > 0
		if next {
			op = m.ops[0]
		}
		m.mu.Unlock()
		if !next {
			select {
			case <-ctx.Done():
				return
			case <-m.wake:
				continue
			}
		}
		err := lb.tryOp(ctx, n, op)
		if op.done != nil {
			op.done <- err
		}
		m.mu.Lock()
		m.ops = m.ops[1:]
		m.mu.Unlock()
	}
}

// tryOp tries op until it succeeds, ctx ends or remoteGiveUp passes.
func (lb *LoadBalancer) tryOp(ctx context.Context, n *Node, op remoteOp) error {
	giveUp := time.Now().Add(remoteGiveUp)
	for {
		err := op.do(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if time.Now().After(giveUp) {
			lb.cfg.Logger.Warn("gave up on a call to a remote load balancer node", "zone", n.zone.Name, "call", op.what, "err", err)
			return err
		}
		lb.cfg.Logger.Debug("retry a call to a remote load balancer node", "zone", n.zone.Name, "call", op.what, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(remoteRetry):
		}
	}
}

// stale says whether n is a remote node that has not answered its
// mirror for longer than it would take to mark a target unhealthy (its
// health check interval times the unhealthy threshold, at least a second
// of wall time): its last view is nobody's current opinion (its host is
// cut off the network or gone), so, as a stopped node's, it does not
// count in a target's health (TargetHealth), and the node is not up
// (NodeUp). DNS drops it on its own: its cluster member goes silent too.
func (n *Node) stale() bool {
	if n.mirror == nil {
		return false
	}
	return time.Since(time.Unix(0, n.mirror.answered.Load())) > n.mirror.silence
}

// remoteSilence is how long a remote node may go unanswered before its
// view goes stale (stale).
func (lb *LoadBalancer) remoteSilence() time.Duration {
	hc := lb.cfg.HealthCheck
	return max(time.Second, lb.cfg.Clock.Wall(hc.Interval*time.Duration(max(hc.Thresholds.Unhealthy, 1))))
}

// HasRemoteNodes says whether any node serves on another host.
func (lb *LoadBalancer) HasRemoteNodes() bool {
	return slices.ContainsFunc(lb.nodes, func(n *Node) bool { return n.mirror != nil })
}

// NodeState is zone's node's view of its targets and its counts, for a
// mirror of it on another host.
func (lb *LoadBalancer) NodeState(zone string) (NodeState, error) {
	n, err := lb.node(zone)
	if err != nil {
		return NodeState{}, err
	}
	s := NodeState{Metrics: n.Metrics(), Anomalies: lb.atw[slices.Index(lb.nodes, n)].view()}
	n.mu.Lock()
	for id, v := range n.views {
		s.Targets = append(s.Targets, TargetView{ID: id, State: v.health.State, Reason: v.health.Reason, Description: v.health.Description})
	}
	n.mu.Unlock()
	slices.SortFunc(s.Targets, func(a, b TargetView) int { return cmp.Compare(a.ID, b.ID) })
	targets := lb.Targets()
	for _, name := range lb.groupNames {
		c := n.GroupCounts(name)
		for _, t := range targets {
			if t.Group == name {
				c.InFlight += t.InFlight()
			}
		}
		s.Groups = append(s.Groups, c)
	}
	return s, nil
}

// pollRemote keeps n's mirror current until ctx ends: every remotePoll it
// reads the remote node's state and applies it. An unanswered read keeps
// the last view: a node that cannot be asked has not changed its mind
// (whether it is alive is the cluster's failure detector's to say).
func (lb *LoadBalancer) pollRemote(ctx context.Context, n *Node) {
	tk := time.NewTicker(remotePoll)
	defer tk.Stop()
	for {
		st, err := n.mirror.remote.State(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			lb.cfg.Logger.Debug("read the remote load balancer node", "zone", n.zone.Name, "err", err)
		} else {
			n.mirror.answered.Store(time.Now().UnixNano())
			lb.applyRemote(n, &st)
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// applyRemote takes the remote node's state into its mirror: its counts,
// each target's anomaly detection (published as TargetAnomalyChanged when
// it changes, as a local node's step does) and each target's health as a
// change of the mirror's view (published as a local node's change is). A stopped node's view stays frozen, as a
// local one's does; a target deregistered here stays draining whatever
// the remote node said before it heard of it.
func (lb *LoadBalancer) applyRemote(n *Node, st *NodeState) {
	n.mirror.state.Store(st)
	lb.mu.Lock()
	down := n.down
	ts := make([]*Target, len(st.Targets))
	for i, v := range st.Targets {
		ts[i] = lb.targets[v.ID]
	}
	lb.mu.Unlock()
	if down {
		return
	}
	// the remote node's anomaly results, as its own ATW step published
	// them there (stepATW does not step a mirror)
	for _, e := range lb.atw[slices.Index(lb.nodes, n)].adopt(st.Anomalies) {
		lb.cfg.Events.Publish(e)
	}
	for i, v := range st.Targets {
		if ts[i] == nil {
			continue
		}
		n.setHealth(ts[i], func(h Health) Health {
			if h.State == StateDraining && v.State != StateDraining || h.State == StateUnused {
				return h
			}
			h.State, h.Reason, h.Description = v.State, v.Reason, v.Description
			return h
		}, false)
	}
}

// registerRemote queues t's registration on every remote node: the
// registration is the load balancer's once made here; each remote node
// hears of it as soon as it can be reached (its mirror shows the target
// initial until then, as a node that has not checked it yet).
func (lb *LoadBalancer) registerRemote(t RemoteTarget) {
	for _, n := range lb.nodes {
		if n.mirror != nil {
			n.mirror.queue(remoteOp{what: "register " + string(t.ID), do: func(ctx context.Context) error { return n.mirror.remote.Register(ctx, t) }})
		}
	}
}

// weightsRemote queues a forward action's new weights for every remote
// node: set here already, they reach each remote node in order with the
// registrations, as soon as it can be reached.
func (lb *LoadBalancer) weightsRemote(priority int, ws []WeightedGroup) {
	for _, n := range lb.nodes {
		if n.mirror != nil {
			n.mirror.queue(remoteOp{what: fmt.Sprintf("set the weights of priority %d", priority),
				do: func(ctx context.Context) error {
					return n.mirror.remote.SetForwardWeights(ctx, priority, slices.Clone(ws))
				}})
		}
	}
}

// deregisterRemote queues id's deregistration on every remote node; the
// returned channel closes once local is closed and every remote node has
// drained id, or the deregistration delay is over (a node that cannot be
// reached by then, its host cut off or gone, drains nothing anyone waits
// for).
func (lb *LoadBalancer) deregisterRemote(id az.InstanceID, local <-chan struct{}) <-chan struct{} {
	var waits []chan error
	for _, n := range lb.nodes {
		if n.mirror == nil {
			continue
		}
		done := make(chan error, 1)
		n.mirror.queue(remoteOp{what: "deregister " + string(id), done: done,
			do: func(ctx context.Context) error { return n.mirror.remote.Deregister(ctx, id) }})
		waits = append(waits, done)
	}
	if len(waits) == 0 {
		return local
	}
	delay := lb.cfg.Clock.After(lb.cfg.DeregistrationDelay)
	out := make(chan struct{})
	lb.wg.Add(1)
	go func() { // ends when the drains are done, the delay is over or the load balancer closes
		defer lb.wg.Done()
		defer close(out)
		for _, w := range waits {
			select {
			case <-w:
			case <-delay:
				return
			case <-lb.ctx.Done():
				return
			}
		}
		select {
		case <-local:
		case <-delay:
		case <-lb.ctx.Done():
		}
	}()
	return out
}

// setRemoteUp stops or starts a remote node, and its mirror with it: a
// stopped mirror's view freezes; a started one starts over as a
// replacement node does (every target initial), until the remote node's
// own view, which starts over too, reaches it.
func (lb *LoadBalancer) setRemoteUp(n *Node, up bool) error {
	verb := map[bool]string{true: "start", false: "stop"}[up]
	lb.mu.Lock()
	switch {
	case lb.closed || lb.ctx == nil:
		lb.mu.Unlock()
		return fmt.Errorf("%s node %s: load balancer is not running", verb, n.zone.Name)
	case n.down != up:
		lb.mu.Unlock()
		return fmt.Errorf("%s node %s: already %s", verb, n.zone.Name, map[bool]string{true: "up", false: "down"}[up])
	}
	lb.mu.Unlock()
	if err := n.mirror.remote.SetUp(lb.ctx, up); err != nil {
		return fmt.Errorf("%s node %s on its host: %w", verb, n.zone.Name, err)
	}
	lb.mu.Lock()
	n.down = !up
	var changes []TargetHealthChanged
	var anomalies []TargetAnomalyChanged
	if up {
		changes = n.freshViewLocked()
		anomalies = lb.atw[slices.Index(lb.nodes, n)].reset()
	}
	lb.mu.Unlock()
	if !up {
		lb.cfg.Events.Publish(NodeStopped{Zone: n.zone.Name, URL: n.URL()})
		return nil
	}
	for _, e := range changes {
		lb.cfg.Events.Publish(e)
	}
	for _, e := range anomalies {
		lb.cfg.Events.Publish(e)
	}
	lb.noteZoneHealth(n)
	lb.cfg.Events.Publish(NodeListening{Zone: n.zone.Name, URL: n.URL()})
	return nil
}

// injectRemote installs f on every remote node too, here already
// installed in the local ones. A remote node that cannot take it (its
// host lost, or cut off) is left without it, and said so: its zone's
// traffic does not reach it either. The returned remove takes it away
// everywhere and adds up the hits.
func (lb *LoadBalancer) injectRemote(f Fault, here func() int64) (func() int64, error) {
	removes := map[*Node]func() int64{}
	for _, n := range lb.nodes {
		if n.mirror == nil {
			continue
		}
		r, err := n.mirror.remote.InjectFault(lb.ctx, f)
		if err != nil {
			lb.cfg.Logger.Warn("a request fault left out on a remote load balancer node that cannot be reached", "zone", n.zone.Name, "fault", f.Name, "err", err)
			continue
		}
		removes[n] = r
	}
	var once sync.Once
	var hits int64
	return func() int64 {
		once.Do(func() { hits = here() + removeRemote(removes) })
		return hits
	}, nil
}

// removeRemote removes a fault from each remote node through its outbox,
// waiting remoteRemoveWait at most for their hits; a node that cannot be
// reached has it removed when it can be, or by its agent's own dead-man
// switch. It returns the hits known.
func removeRemote(removes map[*Node]func() int64) int64 {
	got := make(chan int64, len(removes))
	for n, remove := range removes {
		n.mirror.queue(remoteOp{what: "remove a request fault", do: func(context.Context) error { got <- remove(); return nil }})
	}
	var hits int64
	wait := time.After(remoteRemoveWait)
	for range removes {
		select {
		case h := <-got:
			hits += h
		case <-wait:
			return hits
		}
	}
	return hits
}

// remoteRemoveWait is how long a fault's removal waits for the remote
// nodes' hits.
const remoteRemoveWait = 2 * time.Second
