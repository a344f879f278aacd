package alb

import "github.com/simplydone/lab/sim/az"

// TargetHealth is a target's one health state, as DescribeTargetHealth
// shows one although every node checks on its own: the live nodes' views
// folded (FoldHealth). A stopped node's view is frozen where it was when
// the node went down (StopNode): it is nobody's current opinion, so it does
// not count; the Auto Scaling group's ELB health check reads this, and a
// frozen "healthy" must not hide a target the live nodes find dead. With
// every node down no view counts: unused.
func (lb *LoadBalancer) TargetHealth(id az.InstanceID) State {
	return FoldHealth(lb.liveHealth(id))
}

// liveHealth is Health without the views of stopped nodes, nor of remote
// nodes that have not answered for longer than a target takes to turn
// unhealthy (Node.stale).
func (lb *LoadBalancer) liveHealth(id az.InstanceID) map[string]Health {
	lb.mu.Lock()
	live := make([]*Node, 0, len(lb.nodes))
	for _, n := range lb.nodes {
		if !n.down && !n.stale() { // a remote node silent too long counts as a stopped one (remote.go)
			live = append(live, n)
		}
	}
	lb.mu.Unlock()
	out := map[string]Health{}
	for _, n := range live {
		if h, ok := n.Health(id); ok {
			out[n.zone.Name] = h
		}
	}
	return out
}

// FoldHealth folds the nodes' views of a target (by node zone) into one:
// healthy if any node routes to it, unhealthy if every node has marked it,
// unused if no node knows it, otherwise a state one of the nodes shows
// (initial, draining).
func FoldHealth(views map[string]Health) State {
	if len(views) == 0 {
		return StateUnused
	}
	unhealthy := 0
	var other State
	for _, h := range views {
		switch h.State {
		case StateHealthy:
			return StateHealthy
		case StateUnhealthy:
			unhealthy++
		}
		if h.State != StateUnhealthy {
			other = h.State
		}
	}
	if unhealthy == len(views) {
		return StateUnhealthy
	}
	return other
}
