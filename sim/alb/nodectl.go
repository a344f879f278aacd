package alb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// StopNode takes zone's node down, as a failed zone takes it: its listener
// closes, so new connections are refused, and its open connections are cut;
// it stops health-checking (its view of the targets stays as it was, and
// nobody hears of it: its cluster member is down too). StartNode brings it
// back on the same address with a fresh view.
func (lb *LoadBalancer) StopNode(zone string) error {
	n, err := lb.node(zone)
	if err != nil {
		return err
	}
	if n.mirror != nil {
		return lb.setRemoteUp(n, false)
	}
	lb.mu.Lock()
	switch {
	case lb.closed || lb.ctx == nil:
		lb.mu.Unlock()
		return fmt.Errorf("stop node %s: load balancer is not running", zone)
	case n.down:
		lb.mu.Unlock()
		return fmt.Errorf("stop node %s: already down", zone)
	}
	n.down = true
	srv, f := n.srv, n.front
	n.mu.Lock()
	for _, v := range n.views {
		v.stop() // its health checks end with it
	}
	n.mu.Unlock()
	lb.mu.Unlock()
	err = srv.Close()
	f.close(true) // the front's connections end with it too
	if err != nil {
		return fmt.Errorf("stop node %s: %w", zone, err)
	}
	lb.cfg.Events.Publish(NodeStopped{Zone: zone, URL: n.URL()})
	return nil
}

// StartNode brings a stopped node back on its address and port, as a
// replacement node: it knows nothing of the targets' health, so every
// registered target starts over as initial (Elb.InitialHealthChecking) on
// it and its health checks begin at once; a first passing check makes a
// target healthy, as for a newly registered one. Draining targets stay
// draining: deregistration is the target group's, not the node's. Its
// anomaly detection starts over too.
func (lb *LoadBalancer) StartNode(zone string) error {
	n, err := lb.node(zone)
	if err != nil {
		return err
	}
	if n.mirror != nil {
		return lb.setRemoteUp(n, true)
	}
	lb.mu.Lock()
	switch {
	case lb.closed || lb.ctx == nil:
		lb.mu.Unlock()
		return fmt.Errorf("start node %s: load balancer is not running", zone)
	case !n.down:
		lb.mu.Unlock()
		return fmt.Errorf("start node %s: already up", zone)
	}
	if err := n.listen(); err != nil {
		lb.mu.Unlock()
		return fmt.Errorf("start node %s: %w", zone, err)
	}
	n.down = false
	changes := n.freshViewLocked()
	srv, ln := n.srv, n.ln
	lb.wg.Add(1)
	go func() {
		defer lb.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			lb.cfg.Logger.Error("load balancer node stopped", "zone", zone, "err", err)
		}
	}()
	anomalies := lb.atw[slices.Index(lb.nodes, n)].reset()
	lb.mu.Unlock()
	for _, e := range changes {
		lb.cfg.Events.Publish(e)
	}
	for _, e := range anomalies {
		lb.cfg.Events.Publish(e)
	}
	lb.noteZoneHealth(n)
	lb.cfg.Events.Publish(NodeListening{Zone: zone, URL: n.URL()})
	return nil
}

// freshViewLocked sets every target the node may still check back to
// initial and starts its health checks; lb.mu must be held. It returns the
// changes of state to publish.
func (n *Node) freshViewLocked() []TargetHealthChanged {
	lb := n.lb
	n.mu.Lock()
	defer n.mu.Unlock()
	var changes []TargetHealthChanged
	for _, v := range n.views {
		if v.health.State == StateDraining || v.health.State == StateUnused {
			continue
		}
		old := v.health
		v.health, v.slowStart = NewHealth().Checking(), time.Time{}
		if old.State != v.health.State || old.Reason != v.health.Reason {
			t := v.t
			changes = append(changes, TargetHealthChanged{Node: n.zone.Name, Target: string(t.ID), Zone: t.Zone, Addr: t.Addr.String(),
				From: old.State, To: v.health.State, Reason: v.health.Reason, Description: v.health.Description})
		}
		lb.startChecksLocked(n, v)
	}
	n.rebuild()
	return changes
}

// startChecksLocked starts node n's health checks of v, unless n is down
// (StartNode starts them when it comes back); lb.mu and n.mu must be held.
func (lb *LoadBalancer) startChecksLocked(n *Node, v *view) {
	if n.down || n.mirror != nil { // a remote node checks on its own host
		return
	}
	ctx, stop := context.WithCancel(lb.ctx)
	v.stop = stop
	lb.wg.Add(1)
	go func() {
		defer lb.wg.Done()
		lb.watch(ctx, n, v)
	}()
}

// reset forgets what the detector saw: every target normal, at full
// weight, with an empty window. It returns the results that change.
func (d *detector) reset() []TargetAnomalyChanged {
	d.mu.Lock()
	defer d.mu.Unlock()
	var changes []TargetAnomalyChanged
	for _, a := range d.targets {
		a.cur.requests.Store(0)
		a.cur.errors.Store(0)
		a.ring, a.pos, a.state = [atwWindow][2]int64{}, 0, atwState{weight: 1}
		if a.result.Result != AnomalyNormal || a.result.MitigationInEffect != MitigationNo {
			changes = append(changes, TargetAnomalyChanged{Node: d.n.zone.Name, Target: string(a.t.ID), Zone: a.t.Zone,
				From: a.result.Result, To: AnomalyNormal, MitigationInEffect: MitigationNo})
		}
		a.result = AnomalyDetection{Result: AnomalyNormal, MitigationInEffect: MitigationNo, Weight: 1}
	}
	d.publishWeights()
	return changes
}

// NodeUp says whether zone's node is serving (not stopped by StopNode; a
// remote node, answering its mirror: Node.stale).
func (lb *LoadBalancer) NodeUp(zone string) bool {
	n, err := lb.node(zone)
	if err != nil {
		return false
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return !n.down && !n.stale() && !lb.closed && lb.ctx != nil
}

func (lb *LoadBalancer) node(zone string) (*Node, error) {
	i := slices.IndexFunc(lb.nodes, func(n *Node) bool { return n.zone.Name == zone })
	if i < 0 {
		return nil, fmt.Errorf("no load balancer node in zone %q", zone)
	}
	return lb.nodes[i], nil
}

// AddrPort is where the node listens.
func (n *Node) AddrPort() netip.AddrPort {
	n.lb.mu.Lock()
	defer n.lb.mu.Unlock()
	return n.addr
}

// TargetStates is the node's view of target health: target id -> state,
// for the cluster's gossip.
func (n *Node) TargetStates() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]string, len(n.views))
	for id, v := range n.views {
		out[string(id)] = string(v.health.State)
	}
	return out
}

// NodeStopped is published when a node goes down (StopNode).
type NodeStopped struct {
	Zone string `json:"zone"`
	URL  string `json:"url"`
}

func (NodeStopped) Kind() string { return "lb" }
func (e NodeStopped) Message() string {
	return fmt.Sprintf("Load balancer node in %s is down: %s refuses connections", e.Zone, e.URL)
}
