package alb

import "sync/atomic"

// LeastOutstanding picks the routable target with the fewest requests in
// progress. Ties go to the first one found from a start that rotates per
// request, so that equal targets share the load.
//
// Whose count: AWS documents "the fewest outstanding requests" without saying
// over what; since routing happens on each node and nodes do not share
// per-request state, a node can only know its own requests in progress to a
// target [derived, not documented]. This node counts its own
// (Route.InFlight, an atomic on the node's view of the target), not the
// count over all nodes (Target.InFlight), at the same cost.
type LeastOutstanding struct{ next atomic.Uint64 }

// Pick implements Picker.
func (l *LeastOutstanding) Pick(routes []Route) int {
	n := len(routes)
	if n == 0 {
		return -1
	}
	start := int((l.next.Add(1) - 1) % uint64(n))
	best, least := start, routes[start].inflight.Load()
	for k := 1; k < n && least > 0; k++ {
		i := start + k
		if i >= n {
			i -= n
		}
		if c := routes[i].inflight.Load(); c < least {
			best, least = i, c
		}
	}
	return best
}
