package alb

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a request fault on the path from the load balancer to its
// targets (chaos's http-error and latency): for a Percent share of the
// requests routed to targets in Zone (every zone when empty), wait Latency
// plus up to ±Jitter before forwarding, and, when Status is set, answer with
// Status as the target would (HTTPCode_Target_5XX_Count, not ELB) instead of
// forwarding. Latency and Jitter are request time (wall time, the unit the
// load generator and the latency SLOs measure in), not AWS time. Health
// checks are not affected.
type Fault struct {
	Name    string // for messages: "chaos #3"
	Zone    string
	Percent float64 // 0 to 100: the share of requests the fault hits
	Status  int     // 0: forward after the delay
	Latency time.Duration
	Jitter  time.Duration
}

// activeFault is an installed Fault and how many requests it hit.
type activeFault struct {
	Fault
	threshold uint64 // hits when a draw is below it
	hits      atomic.Int64
}

// faultSet is what the nodes consult per request; nil when no fault is
// active, so the hot path only loads a pointer.
type faultSet struct{ faults []*activeFault }

// faultRegistry holds the load balancer's active faults.
type faultRegistry struct {
	mu     sync.Mutex // writers only
	active atomic.Pointer[faultSet]
	src    *splitMix
}

// InjectFault activates f on every node until remove is called; remove
// returns how many requests the fault hit and is safe to call twice.
func (lb *LoadBalancer) InjectFault(f Fault) (remove func() int64, err error) {
	switch {
	case f.Percent <= 0 || f.Percent > 100:
		return nil, fmt.Errorf("percent %v is not in (0, 100]", f.Percent)
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		return nil, fmt.Errorf("status %d is not an HTTP status", f.Status)
	case f.Latency < 0 || f.Jitter < 0 || f.Jitter > f.Latency:
		return nil, fmt.Errorf("latency %s with jitter %s: both must be 0 or more and jitter at most latency", f.Latency, f.Jitter)
	case f.Status == 0 && f.Latency == 0 && f.Jitter == 0:
		return nil, fmt.Errorf("the fault does nothing: give a status or a latency")
	}
	if f.Zone != "" && !slices.ContainsFunc(lb.nodes, func(n *Node) bool { return n.zone.Name == f.Zone }) {
		return nil, fmt.Errorf("no zone %q behind the load balancer", f.Zone)
	}
	af := &activeFault{Fault: f, threshold: percentThreshold(f.Percent)}
	r := &lb.faults
	r.mu.Lock()
	var cur []*activeFault
	if s := r.active.Load(); s != nil {
		cur = s.faults
	}
	r.active.Store(&faultSet{faults: append(slices.Clone(cur), af)})
	r.mu.Unlock()
	var once sync.Once
	return func() int64 {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			s := r.active.Load()
			if s == nil {
				return
			}
			rest := slices.DeleteFunc(slices.Clone(s.faults), func(x *activeFault) bool { return x == af })
			if len(rest) == 0 {
				r.active.Store(nil)
			} else {
				r.active.Store(&faultSet{faults: rest})
			}
		})
		return af.hits.Load()
	}, nil
}

// ActiveFaults is how many request faults are active now.
func (lb *LoadBalancer) ActiveFaults() int {
	if s := lb.faults.active.Load(); s != nil {
		return len(s.faults)
	}
	return 0
}

// percentThreshold maps a share in (0, 100] onto the range of a uint64 draw.
func percentThreshold(p float64) uint64 {
	if p >= 100 {
		return ^uint64(0)
	}
	return uint64(p / 100 * (1 << 63) * 2)
}

// faultTransport is the path from one node to one target's zone: with no
// fault active it costs one atomic load and passes the request on.
type faultTransport struct {
	n    *Node
	zone string
	next http.RoundTripper
}

// RoundTrip delays the request and may answer it in the target's place; the
// node's timedTransport around it counts either in TargetResponseTime and
// the target status counts, as the ALB sees a slow or failing target.
func (t faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s := t.n.lb.faults.active.Load()
	if s == nil {
		return t.next.RoundTrip(r)
	}
	src := t.n.lb.faults.src
	var delay time.Duration
	status := 0
	for _, f := range s.faults {
		if f.Zone != "" && f.Zone != t.zone {
			continue
		}
		if f.threshold != ^uint64(0) && src.Uint64() >= f.threshold {
			continue
		}
		f.hits.Add(1)
		delay += f.Latency
		if f.Jitter > 0 { // uniform in [-jitter, +jitter]
			delay += time.Duration(src.Uint64()%uint64(2*f.Jitter+1)) - f.Jitter
		}
		if f.Status != 0 && status == 0 {
			status = f.Status
		}
	}
	if delay > 0 {
		tm := time.NewTimer(delay)
		select {
		case <-tm.C:
		case <-r.Context().Done():
			tm.Stop()
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, r.Context().Err()
		}
	}
	if status == 0 {
		return t.next.RoundTrip(r)
	}
	if r.Body != nil {
		r.Body.Close()
	}
	body := fmt.Sprintf("%d %s\n", status, http.StatusText(status))
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Lab-Fault", "http-error")
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}, nil
}
