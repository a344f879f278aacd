package alb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Fault is a fault on the path from the load balancer to its targets
// (chaos's request and network faults), Toxiproxy-style. It hits a Percent
// share (the toxicity) of the requests routed to its targets: those in Zone
// (every zone when empty), narrowed to Targets when given; with Count, only
// the first Count of the requests it would hit. What a hit request meets:
//
//   - Latency ± Jitter before it is forwarded;
//   - Status: answered as the target would (HTTPCode_Target_5XX_Count, not
//     ELB) instead of being forwarded;
//   - Reset: the connection is reset by the target, so the load balancer
//     answers 502;
//   - Hang: the target takes the connection and never answers, so the load
//     balancer answers 504 after its idle timeout;
//   - Blackhole: the target's subnet drops packets, so the connection
//     times out after the ALB's connect timeout (504); health checks of the
//     targets time out too;
//   - Bandwidth: the response body arrives at most Bandwidth bytes per
//     (wall) second.
//
// Latency, Jitter and Bandwidth are request time (wall time, the unit the
// load generator and the latency SLOs measure in); the timeouts are the
// load balancer's own, in AWS time. Health checks are affected only by
// Blackhole.
type Fault struct {
	Name      string // for messages: "chaos #3"
	Zone      string
	Targets   []az.InstanceID // empty: every target in Zone
	Percent   float64         // 0 to 100: the share of requests the fault hits
	Count     int64           // >0: only the first Count requests it would hit
	Status    int             // 0: forward after the delay
	Latency   time.Duration
	Jitter    time.Duration
	Reset     bool
	Hang      bool
	Blackhole bool
	Bandwidth int64 // bytes per second of response body; 0: unlimited
}

// activeFault is an installed Fault and how many requests it hit.
type activeFault struct {
	Fault
	threshold uint64          // hits when a draw is below it
	targets   map[string]bool // target addresses, when Targets narrows the fault
	hits      atomic.Int64
	matched   atomic.Int64 // requests it would hit, for Count
}

// applies says whether the fault covers a target in zone at addr.
func (f *activeFault) applies(zone, addr string) bool {
	if f.Zone != "" && f.Zone != zone {
		return false
	}
	return f.targets == nil || f.targets[addr]
}

// draw decides whether this request is hit, and counts it.
func (f *activeFault) draw(src *splitMix) bool {
	if f.threshold != ^uint64(0) && src.Uint64() >= f.threshold {
		return false
	}
	if f.Count > 0 && f.matched.Add(1) > f.Count {
		return false
	}
	f.hits.Add(1)
	return true
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
	here, err := lb.injectHere(f)
	if err != nil || !lb.HasRemoteNodes() {
		return here, err
	}
	return lb.injectRemote(f, here) // remote.go
}

// injectHere installs f in this host's nodes.
func (lb *LoadBalancer) injectHere(f Fault) (remove func() int64, err error) {
	switch {
	case f.Percent <= 0 || f.Percent > 100:
		return nil, fmt.Errorf("percent %v is not in (0, 100]", f.Percent)
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		return nil, fmt.Errorf("status %d is not an HTTP status", f.Status)
	case f.Latency < 0 || f.Jitter < 0 || f.Jitter > f.Latency:
		return nil, fmt.Errorf("latency %s with jitter %s: both must be 0 or more and jitter at most latency", f.Latency, f.Jitter)
	case f.Count < 0 || f.Bandwidth < 0:
		return nil, fmt.Errorf("count %d and bandwidth %d must be 0 or more", f.Count, f.Bandwidth)
	case f.Status == 0 && f.Latency == 0 && f.Jitter == 0 && !f.Reset && !f.Hang && !f.Blackhole && f.Bandwidth == 0:
		return nil, fmt.Errorf("the fault does nothing: give a status, a latency, a bandwidth, reset, hang or blackhole")
	}
	if f.Zone != "" && !slices.ContainsFunc(lb.nodes, func(n *Node) bool { return n.zone.Name == f.Zone }) {
		return nil, fmt.Errorf("no zone %q behind the load balancer", f.Zone)
	}
	af := &activeFault{Fault: f, threshold: percentThreshold(f.Percent)}
	if len(f.Targets) > 0 {
		af.targets = map[string]bool{}
		lb.mu.Lock()
		for _, id := range f.Targets {
			if t, ok := lb.targets[id]; ok {
				af.targets[t.Addr.String()] = true
			}
		}
		lb.mu.Unlock()
		if len(af.targets) == 0 {
			return nil, fmt.Errorf("none of %v is a registered target", f.Targets)
		}
	}
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

// toxicError is what a network fault makes of the exchange, as the
// transport would report it.
type toxicError struct {
	msg     string
	timeout bool
}

func (e *toxicError) Error() string   { return e.msg }
func (e *toxicError) Timeout() bool   { return e.timeout }
func (e *toxicError) Temporary() bool { return e.timeout }

// Unwrap makes a reset an ECONNRESET, as the kernel would say it.
func (e *toxicError) Unwrap() error {
	if e.timeout {
		return os.ErrDeadlineExceeded
	}
	return syscall.ECONNRESET
}

// RoundTrip applies the active faults to one request: it may delay it,
// answer it in the target's place, fail it as a reset or a timeout, or slow
// its response body. The node's timedTransport around it counts an answer
// in TargetResponseTime and the target status counts, as the ALB sees a
// slow or failing target; a failure becomes the ALB's own 502 or 504.
func (t faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s := t.n.lb.faults.active.Load()
	if s == nil {
		return t.next.RoundTrip(r)
	}
	src := t.n.lb.faults.src
	addr := r.URL.Host
	var delay, wait time.Duration
	status := 0
	var fail *toxicError
	var bandwidth int64
	for _, f := range s.faults {
		if !f.applies(t.zone, addr) || !f.draw(src) {
			continue
		}
		delay += f.Latency
		if f.Jitter > 0 { // uniform in [-jitter, +jitter]
			delay += time.Duration(src.Uint64()%uint64(2*f.Jitter+1)) - f.Jitter
		}
		if f.Status != 0 && status == 0 {
			status = f.Status
		}
		switch {
		case fail != nil:
		case f.Blackhole:
			wait = t.n.lb.cfg.Clock.Wall(t.n.lb.cfg.ConnectTimeout)
			fail = &toxicError{msg: fmt.Sprintf("dial tcp %s: i/o timeout (%s: blackholed)", addr, f.Name), timeout: true}
		case f.Hang:
			wait = t.n.lb.cfg.Clock.Wall(t.n.lb.cfg.IdleTimeout)
			fail = &toxicError{msg: fmt.Sprintf("read tcp %s: i/o timeout (%s: the target never answered)", addr, f.Name), timeout: true}
		case f.Reset:
			fail = &toxicError{msg: fmt.Sprintf("read tcp %s: connection reset by peer (%s)", addr, f.Name)}
		}
		if f.Bandwidth > 0 && (bandwidth == 0 || f.Bandwidth < bandwidth) {
			bandwidth = f.Bandwidth
		}
	}
	if err := sleepCtx(r, delay+wait); err != nil {
		return nil, err
	}
	if fail != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fail
	}
	var resp *http.Response
	if status == 0 {
		var err error
		if resp, err = t.next.RoundTrip(r); err != nil {
			return nil, err
		}
	} else {
		resp = answer(r, status)
	}
	if bandwidth > 0 {
		resp.Body = &throttledBody{rc: resp.Body, rate: bandwidth, start: time.Now(), ctx: r.Context()}
	}
	return resp, nil
}

// sleepCtx waits d unless the request is cancelled first.
func sleepCtx(r *http.Request, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-r.Context().Done():
		if r.Body != nil {
			r.Body.Close()
		}
		return r.Context().Err()
	}
}

// answer is status answered in the target's place.
func answer(r *http.Request, status int) *http.Response {
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
	}
}

// throttledBody lets at most rate bytes per second through: each read
// waits until the bytes so far are due.
type throttledBody struct {
	rc    io.ReadCloser
	rate  int64
	start time.Time
	n     int64
	ctx   interface{ Done() <-chan struct{} }
}

func (b *throttledBody) Read(p []byte) (int, error) {
	chunk := max(b.rate/20, 1) // about 50 ms of bytes per read
	if int64(len(p)) > chunk {
		p = p[:chunk]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	due := b.start.Add(time.Duration(float64(b.n) / float64(b.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		tm := time.NewTimer(d)
		select {
		case <-tm.C:
		case <-b.ctx.Done():
			tm.Stop()
		}
	}
	return n, err
}

func (b *throttledBody) Close() error { return b.rc.Close() }

// blackholed says whether a Blackhole fault covers the target at addr now.
func (lb *LoadBalancer) blackholed(addr string) (string, bool) {
	s := lb.faults.active.Load()
	if s == nil {
		return "", false
	}
	lb.mu.Lock()
	t := lb.byAddr[addr]
	lb.mu.Unlock()
	if t == nil {
		return "", false
	}
	for _, f := range s.faults {
		if f.Blackhole && f.applies(t.Zone, addr) {
			return f.Name, true
		}
	}
	return "", false
}

// faultProber is the health check through the faults: a blackholed
// target's check times out, as a check into a dropped subnet does.
type faultProber struct {
	lb      *LoadBalancer
	next    Prober
	timeout time.Duration // wall
}

func (p faultProber) Probe(ctx context.Context, target netip.AddrPort) Result {
	if _, ok := p.lb.blackholed(target.String()); ok {
		tm := time.NewTimer(p.timeout)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-ctx.Done():
		}
		return Result{Reason: ReasonTimeout, Detail: "Request timed out"}
	}
	return p.next.Probe(ctx, target)
}
