package alb

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Node is the load balancer's node in one zone: a listener, its own health
// view of every target, its own round-robin position and its own connections
// to the targets.
type Node struct {
	lb        *LoadBalancer
	zone      az.Zone
	addr      netip.AddrPort
	port      string // listener port, for X-Forwarded-Port
	picker    Picker
	transport *http.Transport
	metrics   Metrics
	routes    atomic.Pointer[routeSet]

	mu    sync.Mutex
	views map[az.InstanceID]*view

	srv  *http.Server
	ln   net.Listener
	down bool // stopped by StopNode (nodectl.go); guarded by lb.mu
}

// view is one node's health view of one target.
type view struct {
	t         *Target
	health    Health
	proxy     *httputil.ReverseProxy
	stop      context.CancelFunc // stops this node's health checks of the target
	inflight  atomic.Int64       // this node's requests in progress to t
	slowStart time.Time          // when t entered slow start on this node; zero: not in slow start
}

// routeSet is what a request is routed over, rebuilt whenever health or
// registrations change so that the hot path only loads a pointer.
type routeSet struct {
	routes   []Route
	failOpen bool
}

// newNode builds the node of zone z, the index-th node; the index picks its
// random stream.
func newNode(lb *LoadBalancer, z az.Zone, index int) *Node {
	n := &Node{
		lb:    lb,
		zone:  z,
		addr:  netip.AddrPortFrom(z.NodeAddr(), uint16(lb.cfg.Port)),
		port:  strconv.Itoa(lb.cfg.Port),
		views: map[az.InstanceID]*view{},
	}
	src := newSource(lb.cfg.Seed, uint64(index))
	switch lb.cfg.Algorithm {
	case AlgorithmLeastOutstanding:
		n.picker = &LeastOutstanding{}
	case AlgorithmWeightedRandom:
		n.picker = NewWeightedRandom(src)
	default:
		n.picker = NewRoundRobin(lb.cfg.SlowStart, lb.cfg.Clock, src)
	}
	n.transport = lb.newTransport()
	n.routes.Store(&routeSet{})
	return n
}

// Zone is the node's zone name.
func (n *Node) Zone() string { return n.zone.Name }

// URL is where clients reach this node.
func (n *Node) URL() string { return "http://" + n.addr.String() }

// Metrics returns the node's counters and host counts now.
func (n *Node) Metrics() Snapshot {
	s := n.metrics.snapshot()
	s.Zone = n.zone.Name
	s.HealthyHostCount, s.UnHealthyHostCount = map[string]int{}, map[string]int{}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, v := range n.views {
		switch v.health.State {
		case StateHealthy:
			s.HealthyHostCount[v.t.Zone]++
		case StateUnhealthy:
			s.UnHealthyHostCount[v.t.Zone]++
		}
	}
	return s
}

// Health is this node's view of a target.
func (n *Node) Health(id az.InstanceID) (Health, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.views[id]
	if !ok {
		return Unused(), false
	}
	return v.health, true
}

func (n *Node) listen() error {
	ln, err := net.Listen("tcp", n.addr.String())
	if err != nil {
		return fmt.Errorf("load balancer node %s: listen on %s: %w", n.zone.Name, n.addr, err)
	}
	n.ln = ln
	n.addr = ln.Addr().(*net.TCPAddr).AddrPort() // port 0 in tests picks a free port
	n.port = strconv.Itoa(int(n.addr.Port()))
	idle := n.lb.cfg.Clock.Wall(n.lb.cfg.IdleTimeout)
	n.srv = &http.Server{
		Handler:           n,
		IdleTimeout:       idle,
		ReadHeaderTimeout: idle,
		ErrorLog:          n.lb.errorLog,
	}
	return nil
}

// ServeHTTP routes one request: pick a target from the route set, proxy to
// it, never retry elsewhere.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs := n.routes.Load()
	i := n.picker.Pick(rs.routes)
	if i < 0 {
		n.metrics.elbStatus(http.StatusServiceUnavailable)
		writeELBError(w, http.StatusServiceUnavailable)
		return
	}
	n.metrics.RequestCount.Add(1)
	if rs.failOpen {
		n.metrics.UnhealthyRoutingRequestCount.Add(1)
	}
	rt := &rs.routes[i]
	rt.Target.begin()
	rt.inflight.Add(1)
	defer func() {
		rt.inflight.Add(-1)
		rt.Target.end()
	}()
	rt.proxy.ServeHTTP(w, r)
}

func (n *Node) newProxy(t *Target) *httputil.ReverseProxy {
	host := t.Addr.String()
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = host
			pr.Out.Host = pr.In.Host // the ALB keeps the client's Host header
			client, _, err := net.SplitHostPort(pr.In.RemoteAddr)
			if err == nil {
				if prior := pr.In.Header.Get("X-Forwarded-For"); prior != "" {
					client = prior + ", " + client
				}
				pr.Out.Header["X-Forwarded-For"] = []string{client}
			}
			pr.Out.Header["X-Forwarded-Proto"] = []string{"http"}
			pr.Out.Header["X-Forwarded-Port"] = []string{n.port}
		},
		Transport:    timedTransport{faultTransport{n: n, zone: t.Zone, next: n.transport}, &n.metrics},
		BufferPool:   bufferPool{},
		ErrorHandler: n.proxyError,
		ErrorLog:     n.lb.errorLog,
	}
}

// proxyError turns a failed exchange with a target into the code the ALB
// itself would answer with.
func (n *Node) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway // refused, reset, closed early, malformed
	switch {
	case r.Context().Err() != nil:
		code = 460 // the client closed the connection first
	case isTimeout(err):
		code = http.StatusGatewayTimeout // no connection in 10 s, or silence for the idle timeout
	}
	n.metrics.elbStatus(code)
	if code != 460 {
		writeELBError(w, code)
	}
}

// routable says whether this node may route to v at all (draining and
// unused targets, and other zones' targets with cross-zone off, are out).
func (n *Node) routable(v *view) bool {
	if v.health.State == StateDraining || v.health.State == StateUnused {
		return false
	}
	return n.lb.cfg.CrossZone || v.t.Zone == n.zone.Name
}

// rebuild recomputes the route set; n.mu must be held.
func (n *Node) rebuild() {
	var candidates, healthy []Route
	steady := false // a healthy target not in slow start
	for _, v := range n.views {
		if !n.routable(v) {
			continue
		}
		rt := Route{Target: v.t, inflight: &v.inflight, proxy: v.proxy}
		candidates = append(candidates, rt)
		if v.health.State == StateHealthy {
			rt.slowStart = v.slowStart
			steady = steady || v.slowStart.IsZero()
			healthy = append(healthy, rt)
		}
	}
	sortRoutes(candidates)
	sortRoutes(healthy)
	if !steady { // slow start applies only while a healthy target is not in it
		for i := range healthy {
			healthy[i].slowStart = time.Time{}
		}
	}
	rs := &routeSet{routes: healthy}
	if n.lb.failOpen(len(healthy), len(candidates)) {
		rs.routes, rs.failOpen = candidates, true // fail open: route to all of them
	}
	n.routes.Store(rs)
}

// slowStartOnHealthy decides whether v, turning healthy now, enters slow
// start: only with slow start on, and only while another healthy target on
// this node is not in slow start (so the first targets of an empty group do
// not). n.mu must be held.
func (n *Node) slowStartOnHealthy(v *view) time.Time {
	d := n.lb.cfg.SlowStart
	if d <= 0 {
		return time.Time{}
	}
	now := n.lb.cfg.Clock.Now()
	for _, o := range n.views {
		if o == v || o.health.State != StateHealthy || !n.routable(o) {
			continue
		}
		if o.slowStart.IsZero() || now.Sub(o.slowStart) >= d {
			return now
		}
	}
	return time.Time{}
}

// timedTransport measures TargetResponseTime and counts target status codes.
type timedTransport struct {
	rt http.RoundTripper
	m  *Metrics
}

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.rt.RoundTrip(r)
	if err == nil {
		t.m.TargetResponseTimeNanos.Add(int64(time.Since(start)))
		t.m.TargetResponses.Add(1)
		t.m.targetStatus(resp.StatusCode)
	}
	return resp, err
}

// bufferPool lends 32 KiB copy buffers to the reverse proxy. It pools
// pointers to arrays: converting the slice back to its array pointer costs no
// allocation, where pooling &slice would allocate a header on every Put.
type bufferPool struct{}

const bufferSize = 32 << 10

var buffers = sync.Pool{New: func() any { return new([bufferSize]byte) }}

func (bufferPool) Get() []byte { return buffers.Get().(*[bufferSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if cap(b) >= bufferSize {
		buffers.Put((*[bufferSize]byte)(b[:bufferSize]))
	}
}

var elbBodies = map[int]string{
	502: "502 Bad Gateway",
	503: "503 Service Temporarily Unavailable",
	504: "504 Gateway Time-out",
}

func writeELBError(w http.ResponseWriter, code int) {
	title := elbBodies[code]
	h := w.Header()
	h.Set("Server", "awselb/2.0")
	h.Set("Content-Type", "text/html")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", title, title)
}
