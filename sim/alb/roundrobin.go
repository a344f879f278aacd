package alb

import "sync/atomic"

// Picker chooses a target for one request from the routable set.
type Picker interface {
	Pick(targets []*Target) *Target
}

// RoundRobin hands targets out in turn. Each node has its own position, as
// each ALB node keeps its own.
type RoundRobin struct{ next atomic.Uint64 }

// Pick implements Picker; it returns nil for an empty set.
func (r *RoundRobin) Pick(targets []*Target) *Target {
	if len(targets) == 0 {
		return nil
	}
	n := r.next.Add(1) - 1
	return targets[n%uint64(len(targets))]
}
