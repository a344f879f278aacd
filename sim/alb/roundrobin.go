package alb

import (
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/clock"
)

// Route is one routable target as one node sees it. A node's routes are
// rebuilt whenever health or registrations change; a request only loads them.
type Route struct {
	Target *Target

	inflight  *atomic.Int64 // this node's requests in progress to Target
	slowStart time.Time     // when Target entered slow start on this node; zero: not in slow start
	proxy     *httputil.ReverseProxy
	fast      *fastPath // nil: every request through proxy
}

// InFlight is how many requests this node has in progress to the target
// (Target.InFlight counts over all nodes).
func (r *Route) InFlight() int64 { return r.inflight.Load() }

// Picker chooses the route for one request. It returns an index into routes,
// or -1 when routes is empty. Pick runs on every request, concurrently: it
// must not lock or allocate.
type Picker interface {
	Pick(routes []Route) int
}

// Algorithm names, as in the target group's load_balancing.algorithm.type.
const (
	AlgorithmRoundRobin       = "round_robin"
	AlgorithmLeastOutstanding = "least_outstanding_requests"
	AlgorithmWeightedRandom   = "weighted_random"
)

// RoundRobin hands targets out in turn. Each node has its own position, as
// each ALB node keeps its own.
//
// With slow start, a target in slow start is skipped with probability
// 1-w, w being its slow-start weight now; a skipped turn goes to the next
// target in turn. Over time a target of weight w gets w/(w+others) of the
// requests, where every target not in slow start weighs 1.
type RoundRobin struct {
	next atomic.Uint64

	slowStart time.Duration // zero: off
	clock     clock.Clock
	src       Source
}

// NewRoundRobin is round robin with slow start over the given duration (zero:
// off); the clock tells how long a target has been in slow start and src
// decides the skips.
func NewRoundRobin(slowStart time.Duration, c clock.Clock, src Source) *RoundRobin {
	return &RoundRobin{slowStart: slowStart, clock: c, src: src}
}

func (r *RoundRobin) turn(n int) int { return int((r.next.Add(1) - 1) % uint64(n)) }

// Pick implements Picker.
func (r *RoundRobin) Pick(routes []Route) int {
	n := len(routes)
	if n == 0 {
		return -1
	}
	i := r.turn(n)
	if r.slowStart <= 0 {
		return i
	}
	var now time.Time
	for tries := 0; tries < n; tries++ {
		since := routes[i].slowStart
		if since.IsZero() {
			return i
		}
		if now.IsZero() {
			now = r.clock.Now()
		}
		if w := slowStartWeight(now.Sub(since), r.slowStart); w >= 1 || unitFloat(r.src.Uint64()) < w {
			return i
		}
		i = r.turn(n)
	}
	// Every turn was skipped (concurrent requests took the others): the
	// first target not in slow start from here, as a node always has one.
	for k := 0; k < n; k++ {
		j := (i + k) % n
		if routes[j].slowStart.IsZero() {
			return j
		}
	}
	return i
}
