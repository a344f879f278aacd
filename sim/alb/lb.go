package alb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/fdlimit"
	"github.com/simplydone/lab/sim/az"
)

// Publisher takes the load balancer's events (an *events.Bus).
type Publisher interface {
	Publish(events.Event)
}

// Config is everything a load balancer needs; durations are AWS durations.
type Config struct {
	Zones               []az.Zone // one node per zone
	Port                int       // listener port on every node
	IdleTimeout         time.Duration
	DeregistrationDelay time.Duration
	CrossZone           bool
	ConnectTimeout      time.Duration // AWS: 10 s; zero means that
	HealthCheck         HealthCheck
	Clock               clock.Clock
	Events              Publisher
	Logger              *slog.Logger
	// Prober runs health checks; nil means HTTP checks as HealthCheck says.
	Prober Prober
	// Algorithm is the target group's routing algorithm: round_robin (also
	// when empty), least_outstanding_requests or weighted_random.
	Algorithm string
	// SlowStart is the target group's slow-start duration; zero is off. Only
	// with round robin, as on AWS.
	SlowStart time.Duration
	// TargetGroupHealth is the target group's health requirements
	// (target_group_health.*); nil is AWS's default (DefaultTargetGroupHealth).
	TargetGroupHealth *TargetGroupHealth
	// AnomalyMitigation turns on Automatic Target Weights' anomaly
	// mitigation (load_balancing.algorithm.anomaly_mitigation); only with
	// weighted_random, as on AWS. Anomaly detection is always on.
	AnomalyMitigation bool
	// Seed seeds every node's random source (weighted random, slow start's
	// skips); runs with the same seed pick alike.
	Seed uint64
	// Name is the load balancer's name, for its CloudWatch dimensions and
	// access log ("lab" when empty).
	Name string
	// ClientKeepAlive is client_keep_alive.seconds: how long a client
	// connection may be reused; AWS: 3600 s, zero means that.
	ClientKeepAlive time.Duration
	// AccessLog, when set, gets one line per request in the ALB's access
	// log format (accesslog.go); Close flushes it.
	AccessLog io.Writer
	// DesyncMitigationMode is routing.http.desync_mitigation_mode:
	// monitor, defensive (also when empty, AWS's default) or strictest
	// (desync.go).
	DesyncMitigationMode string
	// DropInvalidHeaderFields is
	// routing.http.drop_invalid_header_fields.enabled: header fields whose
	// names do not match [-A-Za-z0-9]+ are removed before routing.
	DropInvalidHeaderFields bool
	// MaxClientConns caps each node's concurrent client connections (a lab
	// limit; DefaultMaxClientConns when zero).
	MaxClientConns int
	// Rules are the listener's rules (rules.go); with none and no
	// DefaultAction the listener forwards everything, as before rules.
	Rules []Rule
	// DefaultAction is the listener's default action; nil: forward to the
	// target group.
	DefaultAction *RuleAction
	// TargetGroupName is the one target group's name, which forward
	// actions name (Name, or "lab", when empty).
	TargetGroupName string
	// TargetGroups are the load balancer's other target groups
	// (groups.go), which forward actions may name beside TargetGroupName.
	TargetGroups []TargetGroupConfig
	// Stickiness is the target group's sticky sessions (sticky.go); an
	// empty Type is off.
	Stickiness Stickiness
	// DialGuard, when set, is asked before a node opens a connection to a
	// target (upstream.go); nil allows every dial.
	DialGuard DialGuard
	// Dial, when set, is how the nodes and their default health checks
	// connect to targets (the targets are in a network namespace of the
	// run's own: internal/runns); nil is the host's network.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// GoroutineFront takes the event loop out from under each node's
	// front, so that the goroutine front (h1serve.go, a goroutine per
	// client connection) serves every connection. By default, on Linux,
	// an event loop (evloop_linux.go) serves the common request itself:
	// one goroutine and one epoll set own the client connections and the
	// target connections of the common request, and anything else goes to
	// the goroutine front with the bytes already read. The two answer byte
	// for byte alike (evloop_linux_test.go); the loop costs less CPU per
	// request (issue 17, make bench-alb). Elsewhere than Linux the
	// goroutine front serves every connection whatever this says. The lab
	// sets it only with LAB_ALB_FRONT=goroutine (lab/config.go).
	GoroutineFront bool
	// Remote are the zones whose nodes serve on another host, by zone
	// name (remote.go); the load balancer keeps a mirror of each.
	Remote map[string]RemoteNode
}

// DialGuard decides whether a node may open a connection to a target. An
// error refuses the dial: the request gets the ALB's 502, as from a target
// that refused it. The lab refuses a target whose address is answered by
// a listener that is not its instance's own, so that not even fail-open
// routing (every target unhealthy) sends it traffic.
type DialGuard interface {
	AllowDial(ctx context.Context, id az.InstanceID, addr netip.AddrPort) error
}

// HealthCheck is the target group's health-check settings.
type HealthCheck struct {
	Path       string
	Interval   time.Duration
	Timeout    time.Duration
	Thresholds Thresholds
	Matches    func(code int) bool
}

// LoadBalancer is an ALB with one target group.
type LoadBalancer struct {
	cfg      Config
	nodes    []*Node
	prober   Prober
	errorLog *log.Logger
	access   *accessLog                     // nil: no access log
	rules    atomic.Pointer[Rules]          // nil: no rules, everything is forwarded; SetForwardWeights swaps it
	sticky   *sticky                        // nil: stickiness off
	awsAt    func(wall time.Time) time.Time // the AWS time at a wall time just read (awsClockAt)

	ctx    context.Context // lives from Start to Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	targets map[az.InstanceID]*Target
	byAddr  map[string]*Target
	faults  faultRegistry // request faults (chaos), read lock-free per request
	timers  []clock.Timer
	closed  bool

	tgHealth TargetGroupHealth
	atw      []*detector // per node, in node order: Automatic Target Weights

	groups     map[string]*tgroup // by name: the load balancer's own and Config.TargetGroups (groups.go)
	groupNames []string           // the load balancer's own first

	zmu       sync.Mutex
	zoneState map[string]zoneState // last published target group health, by node zone
}

// New builds a load balancer with a node per zone; Start makes it listen.
func New(cfg Config) (*LoadBalancer, error) {
	if len(cfg.Zones) == 0 {
		return nil, errors.New("load balancer: no zones")
	}
	if cfg.Clock == nil || cfg.Events == nil {
		return nil, errors.New("load balancer: a clock and an event publisher are required")
	}
	switch cfg.Algorithm {
	case "":
		cfg.Algorithm = AlgorithmRoundRobin
	case AlgorithmRoundRobin, AlgorithmLeastOutstanding, AlgorithmWeightedRandom:
	default:
		return nil, fmt.Errorf("load balancer: unknown routing algorithm %q", cfg.Algorithm)
	}
	if cfg.SlowStart < 0 || cfg.SlowStart > 0 && cfg.Algorithm != AlgorithmRoundRobin {
		return nil, fmt.Errorf("load balancer: slow start %s is not available with %s", cfg.SlowStart, cfg.Algorithm)
	}
	if cfg.AnomalyMitigation && cfg.Algorithm != AlgorithmWeightedRandom {
		return nil, fmt.Errorf("load balancer: anomaly mitigation is not available with %s; it needs weighted_random", cfg.Algorithm)
	}
	tgHealth := DefaultTargetGroupHealth()
	if cfg.TargetGroupHealth != nil {
		tgHealth = *cfg.TargetGroupHealth
	}
	if err := tgHealth.Validate(); err != nil {
		return nil, fmt.Errorf("load balancer: target group health: %w", err)
	}
	switch cfg.DesyncMitigationMode {
	case "":
		cfg.DesyncMitigationMode = DesyncDefensive
	case DesyncMonitor, DesyncDefensive, DesyncStrictest:
	default:
		return nil, fmt.Errorf("load balancer: unknown desync mitigation mode %q; use monitor, defensive or strictest", cfg.DesyncMitigationMode)
	}
	if cfg.TargetGroupName == "" {
		cfg.TargetGroupName = cfg.Name
		if cfg.TargetGroupName == "" {
			cfg.TargetGroupName = "lab"
		}
	}
	var rules *Rules
	if len(cfg.Rules) > 0 || cfg.DefaultAction != nil {
		def := RuleAction{Type: ActionForward, TargetGroup: cfg.TargetGroupName}
		if cfg.DefaultAction != nil {
			def = *cfg.DefaultAction
		}
		var err error
		names := []string{cfg.TargetGroupName}
		for _, g := range cfg.TargetGroups {
			names = append(names, g.Name)
		}
		if rules, err = NewRules(cfg.Rules, def, names); err != nil {
			return nil, fmt.Errorf("load balancer: listener rules: %w", err)
		}
	}
	var st *sticky
	if cfg.Stickiness.Type != "" {
		if cfg.Algorithm == AlgorithmWeightedRandom {
			return nil, errors.New("load balancer: sticky sessions are not available with weighted_random")
		}
		var err error
		if st, err = newSticky(cfg.Stickiness); err != nil {
			return nil, fmt.Errorf("load balancer: %w", err)
		}
	}
	if cfg.MaxClientConns <= 0 {
		cfg.MaxClientConns = DefaultMaxClientConns
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.ClientKeepAlive == 0 {
		cfg.ClientKeepAlive = 3600 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lb := &LoadBalancer{cfg: cfg, prober: cfg.Prober, targets: map[az.InstanceID]*Target{}, byAddr: map[string]*Target{},
		errorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug), tgHealth: tgHealth, zoneState: map[string]zoneState{},
		sticky: st}
	lb.rules.Store(rules)
	lb.awsAt = awsClockAt(cfg.Clock)
	if lb.prober == nil {
		hc := cfg.HealthCheck
		lb.prober = NewHTTPProberDial(hc.Path, cfg.Clock.Wall(hc.Timeout), hc.Matches, cfg.Dial)
	}
	// a blackholed target's checks time out (chaos: az-partition, az-outage)
	lb.prober = faultProber{lb: lb, next: lb.prober, timeout: cfg.Clock.Wall(cfg.HealthCheck.Timeout)}
	lb.faults.src = newSource(cfg.Seed, 0x6661756c74)                                                     // "fault": its own stream
	lb.groups = map[string]*tgroup{cfg.TargetGroupName: {name: cfg.TargetGroupName, hc: cfg.HealthCheck}} // its prober: lb.prober
	lb.groupNames = []string{cfg.TargetGroupName}
	for _, g := range cfg.TargetGroups {
		if lb.groups[g.Name] != nil || g.Name == "" {
			return nil, fmt.Errorf("load balancer: target group %q: given twice, or without a name", g.Name)
		}
		pr := g.Prober
		if pr == nil {
			pr = NewHTTPProberDial(g.HealthCheck.Path, cfg.Clock.Wall(g.HealthCheck.Timeout), g.HealthCheck.Matches, cfg.Dial)
		}
		lb.groups[g.Name] = &tgroup{name: g.Name, hc: g.HealthCheck, prober: faultProber{lb: lb, next: pr, timeout: cfg.Clock.Wall(g.HealthCheck.Timeout)}}
		lb.groupNames = append(lb.groupNames, g.Name)
	}
	if cfg.AccessLog != nil {
		lb.access = newAccessLog(cfg.AccessLog, lb.Dimension(), lb.TargetGroupARN(), lb.targetGroupARNs(), cfg.Port)
	}
	for i, z := range cfg.Zones {
		n := newNode(lb, z, i)
		if r := cfg.Remote[z.Name]; r != nil {
			n.mirror = &mirror{remote: r, wake: make(chan struct{}, 1)}
		}
		lb.nodes = append(lb.nodes, n)
	}
	for zone := range cfg.Remote {
		if _, err := lb.node(zone); err != nil {
			return nil, fmt.Errorf("load balancer: remote node: %w", err)
		}
	}
	for _, n := range lb.nodes {
		lb.atw = append(lb.atw, newDetector(n, cfg.AnomalyMitigation))
	}
	return lb, nil
}

// Nodes are the load balancer's nodes, in zone order.
func (lb *LoadBalancer) Nodes() []*Node { return lb.nodes }

// Start binds every node's listener and serves until Close.
func (lb *LoadBalancer) Start(ctx context.Context) error {
	lb.ctx, lb.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if lb.access != nil {
		go lb.access.run() // ends when Close closes the log
	}
	for _, n := range lb.nodes {
		if n.mirror != nil {
			continue // it listens on its own host
		}
		if err := n.listen(); err != nil {
			lb.Close()
			return err
		}
	}
	for _, n := range lb.nodes {
		lb.wg.Add(1)
		if n.mirror != nil {
			n.mirror.silence = lb.remoteSilence()
			n.mirror.answered.Store(time.Now().UnixNano())
			go func() {
				defer lb.wg.Done()
				lb.pollRemote(lb.ctx, n)
			}()
			lb.wg.Add(1)
			go func() {
				defer lb.wg.Done()
				lb.runOutbox(lb.ctx, n)
			}()
			lb.cfg.Events.Publish(NodeListening{Zone: n.zone.Name, URL: n.URL()})
			continue
		}
		go func() {
			defer lb.wg.Done()
			if err := n.srv.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				lb.cfg.Logger.Error("load balancer node stopped", "zone", n.zone.Name, "err", err)
			}
		}()
		lb.cfg.Events.Publish(NodeListening{Zone: n.zone.Name, URL: n.URL()})
	}
	lb.wg.Add(1)
	go func() {
		defer lb.wg.Done()
		lb.runATW(lb.ctx)
	}()
	return nil
}

// Register adds a target to the target group; every node starts
// health-checking it.
func (lb *LoadBalancer) Register(id az.InstanceID, zone string, addr netip.AddrPort) error {
	return lb.register(lb.cfg.TargetGroupName, id, zone, addr)
}

func (lb *LoadBalancer) register(group string, id az.InstanceID, zone string, addr netip.AddrPort) error {
	if err := lb.registerHere(group, id, zone, addr); err != nil {
		return err
	}
	lb.registerRemote(RemoteTarget{ID: id, Zone: zone, Addr: addr, Group: group})
	return nil
}

// registerHere registers the target with the load balancer and its local
// nodes (and the mirrors of remote ones).
func (lb *LoadBalancer) registerHere(group string, id az.InstanceID, zone string, addr netip.AddrPort) error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.closed || lb.ctx == nil {
		return fmt.Errorf("register target %s: load balancer is not running", id)
	}
	if _, ok := lb.targets[id]; ok {
		return fmt.Errorf("register target %s: already registered", id)
	}
	t := newTarget(id, zone, addr)
	t.Group = group
	lb.targets[id] = t
	lb.byAddr[addr.String()] = t
	ev := TargetRegistered{Target: string(id), Zone: zone, Addr: addr.String()}
	if len(lb.groupNames) > 1 {
		ev.TargetGroup = group
	}
	lb.cfg.Events.Publish(ev)
	for i, n := range lb.nodes {
		proxy := n.newProxy(t)
		proxy.Transport = outcomeTransport{next: proxy.Transport, o: lb.atw[i].add(t)} // anomaly detection sees every exchange
		v := &view{t: t, health: NewHealth(), proxy: proxy, fast: newFastPath(n, proxy.Transport), stop: func() {}}
		n.mu.Lock()
		n.views[id] = v
		n.rebuild()
		lb.startChecksLocked(n, v) // not on a stopped node (nodectl.go)
		n.mu.Unlock()
		lb.noteZoneHealth(n)
	}
	return nil
}

// Deregister starts draining a target: no new requests from now on. The
// returned channel closes when nothing is in flight any more, or when the
// deregistration delay ends (what is still in flight then fails with 502).
// The target shows draining until the delay ends, then leaves (unused).
func (lb *LoadBalancer) Deregister(id az.InstanceID) (<-chan struct{}, error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	t, ok := lb.targets[id]
	if !ok || t.draining.Load() {
		return nil, fmt.Errorf("deregister target %s: %w", id, errNotRegistered)
	}
	t.startDraining()
	lb.cfg.Events.Publish(TargetDeregistered{Target: string(id), Zone: t.Zone})
	for _, n := range lb.nodes {
		n.setHealth(t, func(h Health) Health { return h.Drain() }, true)
	}
	lb.timers = append(lb.timers, lb.cfg.Clock.AfterFunc(lb.cfg.DeregistrationDelay, func() { lb.remove(t) }))
	return lb.deregisterRemote(id, t.drained), nil
}

var errNotRegistered = errors.New("not registered (Target.NotRegistered)")

// remove ends the deregistration delay of t.
func (lb *LoadBalancer) remove(t *Target) {
	t.closeConns()
	t.markDrained()
	lb.mu.Lock()
	if lb.targets[t.ID] == t {
		delete(lb.targets, t.ID)
		delete(lb.byAddr, t.Addr.String())
	}
	closed := lb.closed
	lb.mu.Unlock()
	for i, n := range lb.nodes {
		n.mu.Lock()
		if v, ok := n.views[t.ID]; ok && v.t == t {
			delete(n.views, t.ID)
			n.rebuild()
		}
		n.mu.Unlock()
		lb.atw[i].remove(t)
		lb.noteZoneHealth(n)
	}
	if !closed {
		lb.cfg.Events.Publish(TargetDeregistered{Target: string(t.ID), Zone: t.Zone, Drained: true})
	}
}

// Health is every node's view of a target, by node zone.
func (lb *LoadBalancer) Health(id az.InstanceID) map[string]Health {
	out := map[string]Health{}
	for _, n := range lb.nodes {
		if h, ok := n.Health(id); ok {
			out[n.zone.Name] = h
		}
	}
	return out
}

// Targets lists the registered targets (draining ones included), by id.
func (lb *LoadBalancer) Targets() []*Target {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	ts := make([]*Target, 0, len(lb.targets))
	for _, t := range lb.targets {
		ts = append(ts, t)
	}
	sortTargets(ts)
	return ts
}

func sortTargets(ts []*Target) {
	slices.SortFunc(ts, func(a, b *Target) int { return a.Addr.Compare(b.Addr) })
}

func sortRoutes(rs []Route) {
	slices.SortFunc(rs, func(a, b Route) int { return a.Target.Addr.Compare(b.Target.Addr) })
}

// watch is one node's health-check loop for one target: a check at once,
// then one every interval, each independent of how long the last one took.
func (lb *LoadBalancer) watch(ctx context.Context, n *Node, v *view) {
	tk := lb.cfg.Clock.NewTicker(lb.groupOf(v.t).hc.Interval)
	defer tk.Stop()
	for {
		lb.checkOnce(ctx, n, v)
		select {
		case <-ctx.Done():
			return
		case <-tk.C():
		}
	}
}

// checkOnce runs one health check and applies its result.
func (lb *LoadBalancer) checkOnce(ctx context.Context, n *Node, v *view) {
	n.setHealth(v.t, Health.Checking, false)
	g := lb.groupOf(v.t)
	pr := g.prober
	if pr == nil {
		pr = lb.prober // the load balancer's own target group
	}
	r := pr.Probe(ctx, v.t.Addr)
	if ctx.Err() != nil {
		return
	}
	n.setHealth(v.t, func(h Health) Health { return h.Observe(r, g.hc.Thresholds) }, false)
}

// setHealth changes this node's view of t, publishes a change of state and
// rebuilds the route set. stop also ends the node's checks of t.
func (n *Node) setHealth(t *Target, f func(Health) Health, stop bool) {
	n.mu.Lock()
	v, ok := n.views[t.ID]
	if !ok || v.t != t {
		n.mu.Unlock()
		return
	}
	old := v.health
	v.health = f(old)
	changed := old.State != v.health.State || old.Reason != v.health.Reason
	switch {
	case v.health.State != StateHealthy:
		v.slowStart = time.Time{} // unhealthy or deregistered: slow start ends
	case old.State != StateHealthy:
		v.slowStart = n.slowStartOnHealthy(v)
	}
	if changed {
		n.rebuild()
	}
	if stop {
		v.stop()
	}
	h := v.health
	n.mu.Unlock()
	if changed {
		n.lb.cfg.Events.Publish(TargetHealthChanged{Node: n.zone.Name, Target: string(t.ID), Zone: t.Zone, Addr: t.Addr.String(),
			From: old.State, To: h.State, Reason: h.Reason, Description: h.Description})
		n.lb.noteZoneHealth(n)
	}
}

// newTransport is a node's connection pool to the targets: many idle
// connections per target (Go's default of 2 would redial constantly), the
// ALB's 10 s connect timeout, the idle timeout for the response, and
// connections tracked per target so that draining can cut them.
func (lb *LoadBalancer) newTransport() *http.Transport {
	connect := lb.cfg.Clock.Wall(lb.cfg.ConnectTimeout)
	dial := (&net.Dialer{Timeout: connect, KeepAlive: -1}).DialContext
	if lb.cfg.Dial != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, connect)
			defer cancel()
			return lb.cfg.Dial(ctx, network, addr)
		}
	}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, fdlimit.Note(err) // the lab's own process out of descriptors is counted
			}
			lb.mu.Lock()
			t := lb.byAddr[addr]
			lb.mu.Unlock()
			if t == nil {
				return c, nil
			}
			tc := &trackedConn{Conn: c, t: t}
			t.track(tc)
			return tc, nil
		},
		MaxIdleConns:          0, // no global cap
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       lb.cfg.Clock.Wall(lb.cfg.IdleTimeout),
		ResponseHeaderTimeout: lb.cfg.Clock.Wall(lb.cfg.IdleTimeout),
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

// Close stops the nodes, the health checks and the drain timers. Safe to call twice.
func (lb *LoadBalancer) Close() error {
	lb.mu.Lock()
	if lb.closed {
		lb.mu.Unlock()
		return nil
	}
	lb.closed = true
	timers := lb.timers
	lb.mu.Unlock()
	for _, t := range timers {
		t.Stop()
	}
	if lb.cancel != nil {
		lb.cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, n := range lb.nodes {
		if n.srv != nil {
			if err := n.srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("shut down node %s: %w", n.zone.Name, err))
			}
			n.front.wait(ctx) // the front's answers in progress end too
		} else if n.ln != nil {
			n.ln.Close()
		}
		n.transport.CloseIdleConnections()
	}
	lb.wg.Wait()
	if lb.access != nil && lb.ctx != nil {
		lb.access.close()
	}
	return errors.Join(errs...)
}

// awsClockAt is c's AWS time at a wall time the caller has just read, so
// that a request's wall and AWS times cost one clock read: exact for a
// scaled clock (clock.Scaled.At); any other clock (a test's fake) is read.
func awsClockAt(c clock.Clock) func(wall time.Time) time.Time {
	if s, ok := c.(interface{ At(time.Time) time.Time }); ok {
		return s.At
	}
	return func(time.Time) time.Time { return c.Now() }
}
