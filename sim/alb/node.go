package alb

import (
	"context"
	"errors"
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
	port      string   // listener port, for X-Forwarded-Port
	xfPort    []string // the X-Forwarded-Port value, shared by every request
	picker    Picker
	transport *nodeConns
	metrics   Metrics
	routes    atomic.Pointer[routeSet]             // the load balancer's own target group's
	others    atomic.Pointer[map[string]*routeSet] // the other target groups' (groups.go); nil with one
	pickers   map[string]Picker                    // per target group, the own one's is picker
	stats     map[string]*groupStats               // per target group
	fwdSrc    *splitMix                            // weighted forwards' choices
	connIDs   atomic.Uint64                        // conn_trace_id of the client connections

	mu    sync.Mutex
	views map[az.InstanceID]*view

	srv   *http.Server
	ln    net.Listener // the front's hand-off listener, which net/http serves
	front *front       // the node's own HTTP/1.1 server (h1serve.go)
	down  bool         // stopped by StopNode (nodectl.go); guarded by lb.mu

	mirror *mirror // non-nil: the node serves on another host and this is its mirror (remote.go)
}

// view is one node's health view of one target.
type view struct {
	t         *Target
	health    Health
	proxy     *httputil.ReverseProxy
	fast      *fastPath          // proxy's chain as the fast path uses it; nil: always proxy
	stop      context.CancelFunc // stops this node's health checks of the target
	inflight  atomic.Int64       // this node's requests in progress to t
	slowStart time.Time          // when t entered slow start on this node; zero: not in slow start
}

// routeSet is what a request is routed over, rebuilt whenever health or
// registrations change so that the hot path only loads a pointer.
type routeSet struct {
	routes   []Route
	failOpen bool
	picker   Picker      // the target group's on this node
	stats    *groupStats // the target group's on this node
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
	n.pickers, n.stats = map[string]Picker{}, map[string]*groupStats{}
	for gi, name := range lb.groupNames {
		src := newSource(lb.cfg.Seed, uint64(index)+uint64(gi)<<32) // the own group's stream as before
		var p Picker
		switch lb.cfg.Algorithm {
		case AlgorithmLeastOutstanding:
			p = &LeastOutstanding{}
		case AlgorithmWeightedRandom:
			p = NewWeightedRandom(src)
		default:
			p = NewRoundRobin(lb.cfg.SlowStart, lb.cfg.Clock, src)
		}
		n.pickers[name], n.stats[name] = p, &groupStats{}
	}
	n.picker = n.pickers[lb.cfg.TargetGroupName]
	n.fwdSrc = newSource(lb.cfg.Seed, 0x667764<<32+uint64(index)) // "fwd"
	n.transport = &nodeConns{n: n, tr: lb.newTransport()}
	n.metrics.targetConns = &n.transport.conns
	n.routes.Store(&routeSet{picker: n.picker, stats: n.stats[lb.cfg.TargetGroupName]})
	if len(lb.groupNames) > 1 {
		m := map[string]*routeSet{}
		for _, name := range lb.groupNames[1:] {
			m[name] = &routeSet{picker: n.pickers[name], stats: n.stats[name]}
		}
		n.others.Store(&m)
	}
	return n
}

// Zone is the node's zone name.
func (n *Node) Zone() string { return n.zone.Name }

// URL is where clients reach this node.
func (n *Node) URL() string { return "http://" + n.addr.String() }

// Metrics returns the node's counters and host counts now.
func (n *Node) Metrics() Snapshot {
	s := n.metrics.snapshot()
	if n.mirror != nil { // the remote node's counts, as last read
		s = Snapshot{}
		if st := n.mirror.state.Load(); st != nil {
			s = st.Metrics
		}
	}
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
	n.front = newFront(n, &clientListener{Listener: ln, n: n, max: int64(n.lb.cfg.MaxClientConns)}) // the cap, and each request's bytes (clientconn.go)
	n.ln = handoffListener{n.front}                                                                 // what the front does not serve, net/http does
	n.addr = ln.Addr().(*net.TCPAddr).AddrPort()                                                    // port 0 in tests picks a free port
	n.port = strconv.Itoa(int(n.addr.Port()))
	n.xfPort = []string{n.port}
	idle := n.lb.cfg.Clock.Wall(n.lb.cfg.IdleTimeout)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	n.srv = &http.Server{
		Handler:   n,
		Protocols: &protocols,
		// The idle timeout closes a client connection that has been quiet
		// that long; a client that has not sent its whole request header
		// by then is cut off too, so a slow client cannot pin a connection.
		IdleTimeout:       idle,
		ReadHeaderTimeout: idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          n.lb.errorLog,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if h, ok := c.(*handedConn); ok { // from the front: the same connection
				return context.WithValue(ctx, connKey{}, h.ci)
			}
			ci := &connInfo{id: n.connIDs.Add(1), opened: n.lb.cfg.Clock.Now(), cc: clientConnOf(c)}
			if ci.cc != nil {
				ci.cc.id = ci.id
			}
			return context.WithValue(ctx, connKey{}, ci)
		},
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				if _, ok := c.(*handedConn); ok {
					break // counted by the front
				}
				n.metrics.NewConnectionCount.Add(1)
				n.metrics.clientConns.Add(1)
			case http.StateClosed, http.StateHijacked:
				n.metrics.clientConns.Add(-1)
			}
		},
	}
	return nil
}

// ALB's request header limits (Quotas for your Application Load Balancers,
// HTTP headers): request line 16 K, a single header 16 K, the whole
// request header 64 K.
const (
	maxRequestLine = 16 << 10
	maxHeaderLine  = 16 << 10
	// maxHeaderBytes is what net/http is told; it allows 4 KiB above it, so
	// the whole header is cut at 64 K (431).
	maxHeaderBytes = 64<<10 - 4<<10
)

// connKey finds a client connection's connInfo in a request's context.
type connKey struct{}

// connInfo is one client connection: its conn_trace_id and when it opened
// (AWS time), for client_keep_alive.
type connInfo struct {
	id     uint64
	opened time.Time
	cc     *clientConn // nil when the listener is not the node's own
}

// limits answers 414 or 431 for a request over ALB's header limits, before
// it is routed; 0 when it is within them.
func limits(r *http.Request) int {
	if len(r.Method)+len(r.RequestURI)+len(r.Proto)+2 > maxRequestLine {
		return http.StatusRequestURITooLong
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if len(k)+2+len(v) > maxHeaderLine {
				return http.StatusRequestHeaderFieldsTooLarge
			}
		}
	}
	return 0
}

// ServeHTTP routes one request: pick a target from the route set, proxy to
// it, never retry elsewhere.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ci, _ := r.Context().Value(connKey{}).(*connInfo)
	wall := time.Now() // the request's start: its keep-alive check and its access-log times
	if ci != nil && n.lb.awsAt(wall).Sub(ci.opened) >= n.lb.cfg.ClientKeepAlive {
		// client_keep_alive has run out: this answer closes the connection
		// (HTTP/2: GOAWAY), and the client opens a new one.
		w.Header()["Connection"] = []string{"close"}
	}
	var verdict Verdict
	if ci != nil && ci.cc != nil && r.ProtoMajor == 1 {
		verdict, _ = ci.cc.take()
		defer ci.cc.done()
		if isUpgrade(r) {
			ci.cc.upgraded()
		}
	}
	if n.lb.access != nil {
		ex := claimExchange(r) // the front's own for this request (h1serve.go)
		if ex == nil {
			ex = &exchange{Context: r.Context()}
			r = r.WithContext(ex)
		}
		ex.w, ex.n, ex.start, ex.verdict = w, n, wall, verdict
		w = ex
		defer ex.finish(r, ci)
	}
	closeTarget := false
	if verdict.Class != Compliant {
		n.metrics.DesyncNonCompliant.Add(1)
		switch DesyncAction(n.lb.cfg.DesyncMitigationMode, verdict.Class) {
		case Block: // 400, and the connection closes
			w.Header()["Connection"] = []string{"close"}
			n.metrics.elbStatus(http.StatusBadRequest)
			writeELBError(w, http.StatusBadRequest)
			return
		case ForwardThenClose: // routed, then the client's and the target's connections close
			w.Header()["Connection"] = []string{"close"}
			closeTarget = true
		}
	}
	if n.lb.cfg.DropInvalidHeaderFields && r.ProtoMajor == 2 { // HTTP/1 lines are dropped below Go (clientconn.go)
		for k := range r.Header {
			if !validALBHeaderName([]byte(k)) {
				delete(r.Header, k)
			}
		}
	}
	if code := limits(r); code != 0 {
		n.metrics.elbStatus(code)
		writeELBError(w, code)
		return
	}
	rs := n.routes.Load()
	if rules := n.lb.rules.Load(); rules != nil {
		var done bool
		var group string
		done, group, w = n.act(w, r, rules) // w: with AWSALBTG to set, on a sticky weighted forward (groups.go)
		if done {
			return // a fixed response or a redirect (rules.go)
		}
		if group != n.lb.cfg.TargetGroupName {
			rs = n.routesOf(group) // another target group (groups.go)
		}
	}
	var i int
	if st := n.lb.sticky; st != nil {
		i, w = n.stick(st, w, r, rs)
	} else {
		i = rs.picker.Pick(rs.routes)
	}
	if i < 0 {
		rs.stats.noTarget.Add(1)
		n.metrics.elbStatus(http.StatusServiceUnavailable)
		if sw, ok := w.(*stickyWriter); ok { // no target answered: nothing to bind to
			w = sw.ResponseWriter
		}
		writeELBError(w, http.StatusServiceUnavailable)
		return
	}
	rt := n.route(rs, i)
	defer func() {
		rt.inflight.Add(-1)
		rt.Target.end()
	}()
	if rt.fast != nil && !isUpgrade(r) {
		n.forward(w, r, rt.proxy.Transport, rt.fast, closeTarget) // the fast path (proxy.go)
	} else {
		rt.proxy.ServeHTTP(w, r) // protocol upgrades
	}
}

// route counts a request routed to rs's route i (RequestCount, the target
// group's requests, UnhealthyRoutingRequestCount when failing open) and
// marks it in flight on its target; the caller ends both (Target.end,
// inflight) when the exchange is over. Both fronts route through it.
func (n *Node) route(rs *routeSet, i int) *Route {
	n.metrics.RequestCount.Add(1)
	rs.stats.requests.Add(1)
	if rs.failOpen {
		n.metrics.UnhealthyRoutingRequestCount.Add(1)
	}
	rt := &rs.routes[i]
	rt.Target.begin()
	rt.inflight.Add(1)
	return rt
}

// act evaluates the listener's rules for r and carries out a fixed-response
// or redirect action; false when the action is a forward, which the caller
// routes to the target group it names (a weighted forward's choice).
func (n *Node) act(w http.ResponseWriter, r *http.Request, rules *Rules) (bool, string, http.ResponseWriter) {
	var client netip.Addr
	if rules.NeedsClient() { // only source-ip conditions look at it
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			client = ap.Addr()
		}
	}
	prio, a := rules.Evaluate(r, client)
	ex, _ := w.(*exchange)
	if ex != nil {
		ex.rule, ex.action = prio, a.Type
	}
	switch a.Type {
	case ActionFixedResponse:
		n.metrics.FixedResponseCount.Add(1)
		n.metrics.elbStatus(a.StatusCode) // the load balancer's own answer: HTTPCode_ELB_4XX/5XX_Count
		writeFixed(w, a)
		return true, "", w
	case ActionRedirect:
		loc := a.RedirectURL(r, n.port)
		if ex != nil {
			ex.redirect = loc
		}
		n.metrics.RedirectCount.Add(1)
		n.metrics.elbStatus(a.Redirect.Code) // HTTPCode_ELB_3XX_Count
		writeRedirect(w, loc, a.Redirect.Code)
		return true, "", w
	}
	group, w := n.forwardGroup(w, r, rules, a)
	return false, group, w
}

// stick picks r's target with stickiness on: the one its cookie binds it
// to while that target is routable and the binding lasts, else the
// algorithm's choice; the writer it returns sets the cookies (sticky.go).
func (n *Node) stick(st *sticky, w http.ResponseWriter, r *http.Request, rs *routeSet) (int, http.ResponseWriter) {
	routes := rs.routes
	now := n.lb.cfg.Clock.Now()
	i, bound := st.route(r, routes, now)
	if i < 0 {
		if i = rs.picker.Pick(routes); i < 0 {
			return i, w
		}
	}
	// every answer resets the binding's end (sticky.go)
	b := binding{target: routes[i].Target.ID, until: now.Add(st.cfg.Duration)}
	if sw, ok := w.(*stickyWriter); ok { // the forward's group stickiness made it (groups.go): one writer sets both
		sw.s, sw.b, sw.bound = st, b, bound
		return i, sw
	}
	return i, &stickyWriter{ResponseWriter: w, s: st, b: b, now: now, bound: bound}
}

func (n *Node) newProxy(t *Target) *httputil.ReverseProxy {
	host := t.Addr.String()
	up := n.transport.upstream(t, host)
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
			pr.Out.Header["X-Forwarded-Proto"] = xfProto
			pr.Out.Header["X-Forwarded-Port"] = []string{n.port}
			delete(pr.Out.Header, "Expect") // the node answers 100-continue itself
		},
		Transport:    timedTransport{faultTransport{n: n, zone: t.Zone, next: up}, &n.metrics, host, t.Group, n.stats[t.Group]},
		BufferPool:   bufferPool{},
		ErrorHandler: n.proxyError,
		ErrorLog:     n.lb.errorLog,
	}
}

// proxyError turns a failed exchange with a target into the code the ALB
// itself would answer with.
func (n *Node) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if sw, ok := w.(*stickyWriter); ok {
		w = sw.ResponseWriter
	}
	code := http.StatusBadGateway // refused, reset, closed early, malformed
	switch {
	case errors.Is(err, errClientIdle) || clientIdle(r):
		code = http.StatusRequestTimeout // the client sent nothing of its body for the idle timeout
	case r.Context().Err() != nil:
		code = 460 // the client closed the connection first
	case isTimeout(err):
		code = http.StatusGatewayTimeout // no connection in 10 s, or silence for the idle timeout
	}
	n.metrics.elbStatus(code)
	if code != 460 {
		writeELBError(w, code)
	} else if ex, ok := w.(*exchange); ok {
		ex.status = 460
	}
}

// clientIdle says whether r's client let its body sit for the idle timeout
// (clientconn.go); Go's server cancels the request then, so the error the
// proxy sees is the context's.
func clientIdle(r *http.Request) bool {
	ci, _ := r.Context().Value(connKey{}).(*connInfo)
	return ci != nil && ci.cc != nil && ci.cc.bodyIdle.Load()
}

// routable says whether this node may route to v at all (draining and
// unused targets, and other zones' targets with cross-zone off, are out).
func (n *Node) routable(v *view) bool {
	if v.health.State == StateDraining || v.health.State == StateUnused {
		return false
	}
	return n.lb.cfg.CrossZone || v.t.Zone == n.zone.Name
}

// rebuild recomputes the route sets, one per target group; n.mu must be held.
func (n *Node) rebuild() {
	n.transport.prune(n.views)
	own := n.lb.cfg.TargetGroupName
	if len(n.lb.groupNames) == 1 {
		n.routes.Store(n.buildRoutes(own, func(*view) bool { return true }))
		return
	}
	m := map[string]*routeSet{}
	for _, name := range n.lb.groupNames[1:] {
		m[name] = n.buildRoutes(name, func(v *view) bool { return v.t.Group == name })
	}
	n.routes.Store(n.buildRoutes(own, func(v *view) bool { return v.t.Group == own || v.t.Group == "" }))
	n.others.Store(&m)
}

// buildRoutes is the route set of target group name over the views in it;
// n.mu must be held.
func (n *Node) buildRoutes(name string, in func(*view) bool) *routeSet {
	var candidates, healthy []Route
	steady := false // a healthy target not in slow start
	for _, v := range n.views {
		if !in(v) || !n.routable(v) {
			continue
		}
		rt := Route{Target: v.t, inflight: &v.inflight, proxy: v.proxy, fast: v.fast}
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
	rs := &routeSet{routes: healthy, picker: n.pickers[name], stats: n.stats[name]}
	if n.lb.failOpen(len(healthy), len(candidates)) {
		rs.routes, rs.failOpen = candidates, true // fail open: route to all of them
	}
	return rs
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
		if o == v || o.t.Group != v.t.Group || o.health.State != StateHealthy || !n.routable(o) {
			continue
		}
		if o.slowStart.IsZero() || now.Sub(o.slowStart) >= d {
			return now
		}
	}
	return time.Time{}
}

// nodeConns is a node's connections to its targets: one upstream per
// target, with the dialer (10 s connect timeout, per-target tracking so
// that draining can cut them) and the timeouts of lb.newTransport.
type nodeConns struct {
	n     *Node
	tr    *http.Transport // settings only: its dialer and timeouts
	conns atomic.Int64    // open connections to targets
	mu    sync.Mutex
	ups   []*upstream
}

func (c *nodeConns) upstream(t *Target, addr string) *upstream {
	u := &upstream{t: t, addr: addr, dial: c.tr.DialContext, idle: c.tr.IdleConnTimeout, reply: c.tr.ResponseHeaderTimeout, conns: &c.conns, guard: c.n.lb.cfg.DialGuard}
	c.mu.Lock()
	c.ups = append(c.ups, u)
	c.mu.Unlock()
	return u
}

// prune lets go of the upstreams of targets the node no longer has (their
// deregistration delay ended): their idle connections are closed, and so
// are the ones still in use when they come back. n.mu must be held.
func (c *nodeConns) prune(views map[az.InstanceID]*view) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := c.ups[:0]
	for _, u := range c.ups {
		if v, ok := views[u.t.ID]; ok && v.t == u.t || !u.t.draining.Load() { // a new target's view may not be in yet
			keep = append(keep, u)
		} else {
			u.closeIdle(true)
		}
	}
	clear(c.ups[len(keep):])
	c.ups = keep
}

// closeIdleNow closes the idle connections to every target; later ones
// are kept again.
func (c *nodeConns) closeIdleNow() {
	c.mu.Lock()
	ups := c.ups
	c.mu.Unlock()
	for _, u := range ups {
		u.closeIdle(false)
	}
	if f := c.n.front; f != nil {
		if l := f.loop.Load(); l != nil {
			l.closeIdle() // the event loop's own (evloop_linux.go), soon after
		}
	}
}

// CloseIdleConnections closes every idle connection to a target, for good:
// the load balancer is closing.
func (c *nodeConns) CloseIdleConnections() {
	c.mu.Lock()
	ups := c.ups
	c.ups = nil
	c.mu.Unlock()
	for _, u := range ups {
		u.closeIdle(true)
	}
}

// timedTransport measures TargetResponseTime and counts target status codes.
// With access logging on it also notes the exchange's times and target.
type timedTransport struct {
	rt     http.RoundTripper
	m      *Metrics
	target string
	group  string      // the target's group ("": the load balancer's own)
	g      *groupStats // the target's group's counts on this node (groups.go)
}

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	if f, ok := t.rt.(*fwdRequest); ok {
		f.start = start // the upstream takes its connection at the same time
	}
	resp, err := t.rt.RoundTrip(r)
	end := time.Now()
	if ex := exchangeOf(r); ex != nil {
		ex.sent, ex.target, ex.group = start, t.target, t.group
		if err == nil {
			ex.got, ex.targetStatus = end, resp.StatusCode
		}
	}
	if err == nil {
		t.m.TargetResponseTimeNanos.Add(int64(end.Sub(start)))
		t.m.TargetResponses.Add(1)
		t.m.targetStatus(resp.StatusCode)
		t.g.status(resp.StatusCode)
	}
	return resp, err
}

var xfProto = []string{"http"}

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
	400: "400 Bad Request",
	408: "408 Request Time-out",
	414: "414 Request-URI Too Large",
	431: "431 Request Header Fields Too Large",
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
