package alb

import "github.com/simplydone/lab/sim/az"

// TargetHealth is a target's one health state, as DescribeTargetHealth
// shows one although every node checks on its own: the nodes' views folded
// (FoldHealth).
func (lb *LoadBalancer) TargetHealth(id az.InstanceID) State {
	return FoldHealth(lb.Health(id))
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
