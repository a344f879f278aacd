package alb

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
)

// StopNode takes zone's node down, as a failed zone takes it: its listener
// closes, so new connections are refused, and its open connections are cut.
// Its health checks go on (nobody hears of them: its cluster member is down
// too). StartNode brings it back on the same address.
func (lb *LoadBalancer) StopNode(zone string) error {
	n, err := lb.node(zone)
	if err != nil {
		return err
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
	srv := n.srv
	lb.mu.Unlock()
	if err := srv.Close(); err != nil {
		return fmt.Errorf("stop node %s: %w", zone, err)
	}
	lb.cfg.Events.Publish(NodeStopped{Zone: zone, URL: n.URL()})
	return nil
}

// StartNode brings a stopped node back on its address and port.
func (lb *LoadBalancer) StartNode(zone string) error {
	n, err := lb.node(zone)
	if err != nil {
		return err
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	switch {
	case lb.closed || lb.ctx == nil:
		return fmt.Errorf("start node %s: load balancer is not running", zone)
	case !n.down:
		return fmt.Errorf("start node %s: already up", zone)
	}
	if err := n.listen(); err != nil {
		return fmt.Errorf("start node %s: %w", zone, err)
	}
	n.down = false
	srv, ln := n.srv, n.ln
	lb.wg.Add(1)
	go func() {
		defer lb.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			lb.cfg.Logger.Error("load balancer node stopped", "zone", zone, "err", err)
		}
	}()
	lb.cfg.Events.Publish(NodeListening{Zone: zone, URL: n.URL()})
	return nil
}

// NodeUp says whether zone's node is serving (not stopped by StopNode).
func (lb *LoadBalancer) NodeUp(zone string) bool {
	n, err := lb.node(zone)
	if err != nil {
		return false
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return !n.down && !lb.closed && lb.ctx != nil
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
