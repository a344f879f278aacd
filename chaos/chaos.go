package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
)

// Action kinds.
const (
	KillInstance  = "kill-instance"
	StopInstance  = "stop-instance"
	PauseInstance = "pause-instance" // freeze (the gray failure), resume after Duration
	HTTPError     = "http-error"     // the load balancer answers Percent of requests with Status, as the target would
	Latency       = "latency"        // the load balancer delays Percent of requests by Latency ± Jitter
	AZOutage      = "az-outage"      // FIS AZ power interruption: stop the zone's instances, no launches there
	// Network faults on the path from the load balancer to targets, Toxiproxy-style.
	Bandwidth         = "bandwidth"          // response bodies at most Bandwidth bytes/s
	ConnectionReset   = "connection-reset"   // the connection is reset: the load balancer answers 502
	ConnectionTimeout = "connection-timeout" // the target never answers: 504 after the idle timeout
	AZPartition       = "az-partition"       // the nodes cannot reach the zone's targets: connect timeouts, health checks time out
	CPUHog            = "cpu-hog"            // CPU burned inside the instance's own limit
	StoreOutage       = "store-outage"       // the shared database locked: writes and reads fail, deep health fails
	KillLBNode        = "kill-lb-node"       // the zone's load-balancer node goes down
	Monkey            = "monkey"             // Chaos Monkey: random kills with a mean and a minimum gap (expands to kill-instance)
)

// Kinds lists every action kind.
var Kinds = []string{KillInstance, StopInstance, PauseInstance, HTTPError, Latency, Bandwidth, ConnectionReset,
	ConnectionTimeout, AZOutage, AZPartition, CPUHog, StoreOutage, KillLBNode, Monkey}

// instanceKinds act on chosen instances; requestKinds on the path to them.
var (
	instanceKinds = []string{KillInstance, StopInstance, PauseInstance, CPUHog}
	requestKinds  = []string{HTTPError, Latency, Bandwidth, ConnectionReset, ConnectionTimeout}
	zoneKinds     = []string{AZOutage, AZPartition, KillLBNode} // a zone down, for max_down_zones
)

// DefaultStatus is what http-error answers when the action gives no status.
const DefaultStatus = 503

// Action is one fault on the timeline; At and Duration are AWS durations
// from the start of the run (from the moment After first holds, when it is
// set). Latency, Jitter and Bandwidth are request time (wall time, as the
// load generator measures latency).
type Action struct {
	At    time.Duration
	After string // an event, "desired_capacity >= 4": At counts from when it first holds
	// Every repeats the action this long after each time it happens, ±
	// EveryJitter (seeded); Repeat is how many times in all (0 with Every:
	// until the load ends).
	Every       time.Duration
	EveryJitter time.Duration
	Repeat      int

	Kind     string
	Zone     string   // empty: any zone (all zones for request faults)
	Select   Selector // which instances (instance faults; narrows request faults)
	Duration time.Duration
	Percent  float64 // request faults: the share of requests hit (the toxicity), 0 to 100 (0: 100)
	Status   int     // http-error: the status answered (0: DefaultStatus)
	Count    int     // http-error: only the first Count requests fail (0: no limit)
	Latency  time.Duration
	Jitter   time.Duration
	Rate     int64 // bandwidth: bytes per second

	BlackholeFor time.Duration // az-outage: how long the zone's subnet drops packets (0: the first third)

	MeanGap, MinGap time.Duration // monkey: the mean and the least time between kills

	By string // who asked: "" for the scenario's timeline, "hand" for a person at the TUI
}

// Selector chooses instances among the run's running ones (in Zone when it
// is set). Without IDs, Count or Percent it chooses one.
type Selector struct {
	IDs     []string // exactly these (each must be one of the run's running instances)
	Count   int      // this many
	Percent float64  // this share, rounded up
	Order   string   // random (default, seeded), oldest or newest (by launch time)
}

// Selection orders.
const (
	OrderRandom = "random"
	OrderOldest = "oldest"
	OrderNewest = "newest"
)

// Limits bound the blast radius: a fault that would take more instances or
// zones down at once is refused (FaultNotApplied). 0: no limit.
type Limits struct {
	MaxDownInstances int
	MaxDownZones     int
}

// Victim is an instance chaos may act on.
type Victim struct {
	ID       string
	Zone     string
	Launched time.Time // for oldest and newest
}

// Instances is what chaos acts on: only the run's own running instances.
type Instances interface {
	Running() []Victim
	Kill(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
}

// Pauser is Instances that can also freeze an instance (pause-instance).
// Paused is the runtime's own word that the instance is frozen.
type Pauser interface {
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Paused(ctx context.Context, id string) (bool, error)
}

// RequestFault is a fault on the path from the load balancer to targets.
type RequestFault struct {
	Name      string   // "chaos #3"
	Zone      string   // the targets' zone; "" for all
	Instances []string // narrows to these targets when set
	Percent   float64
	Count     int
	Status    int
	Latency   time.Duration
	Jitter    time.Duration
	Bandwidth int64 // bytes per second
	Reset     bool  // the connection is reset (502)
	Hang      bool  // the target never answers (504 after the idle timeout)
	Blackhole bool  // packets dropped: connect timeouts (504), health checks time out
}

// LoadBalancer is the load balancer's fault hook (http-error, latency).
type LoadBalancer interface {
	// InjectRequestFault activates f on every node; remove deactivates it
	// and returns how many requests it hit.
	InjectRequestFault(f RequestFault) (remove func() int64, err error)
	// Targets is how many targets are registered in zone ("" for all).
	Targets(zone string) int
}

// Capacity is the Auto Scaling group's launch-failure hook (az-outage).
type Capacity interface {
	// ImpairZone makes the group's launches into zone fail with
	// InsufficientInstanceCapacity until restore is called.
	ImpairZone(zone string) (restore func(), err error)
	ZoneImpaired(zone string) bool
}

// NodeController takes a zone's load-balancer node down (kill-lb-node,
// az-outage) until restore is called.
type NodeController interface {
	NodeDown(zone string) (restore func(), err error)
}

// Hogger burns CPU inside an instance's own CPU limit (cpu-hog) until stop
// is called; CPU is the runtime's reading of the instance's CPUUtilization
// since the previous reading.
type Hogger interface {
	Hog(ctx context.Context, id string) (stop func() error, err error)
	CPU(ctx context.Context, id string) (float64, error)
}

// Store is the run's shared database (store-outage): Lock makes it
// unavailable to every instance until release; Healthy is an instance's
// deep health check, answered or not.
type Store interface {
	Lock(ctx context.Context) (release func() error, err error)
	Healthy(ctx context.Context, id string) error
}

// Gauges are the group's figures an After condition reads.
type Gauges interface {
	Gauge(metric string) (float64, bool)
}

// Desirer is Instances that knows the group's desired capacity, so that the
// instances down (killed and not yet replaced) count against the limits.
type Desirer interface{ Desired() int }

// Publisher takes chaos events.
type Publisher interface{ Publish(events.Event) }

// Runner plays a timeline of actions.
type Runner struct {
	steps    []Step
	seed     uint64
	clock    clock.Clock
	target   Instances
	lb       LoadBalancer   // nil: request faults and az-partition are not applied
	capacity Capacity       // nil: az-outage is not applied
	nodes    NodeController // nil: kill-lb-node is not applied, az-outage leaves the node up
	store    Store          // nil: store-outage is not applied
	gauges   Gauges         // nil: actions after an event are not applied
	limits   Limits
	events   Publisher
	journal  Journal
	rand     *rand.Rand // faults by hand

	mu       sync.Mutex
	pending  map[int]*injected // faults not yet reverted, by number
	next     int
	injected int
	reverted int
}

type injected struct {
	n      int
	fault  FaultInjected
	revert func(context.Context) (note string, err error) // note: what the revert found, for the record
	timer  clock.Timer
	down   []string // instances it holds down, for max_down_instances
	zone   string   // the zone it takes down, for max_down_zones
}

// NewRunner prepares a timeline; seed makes every choice repeatable (which
// instances, when a repeated action's jitter lands). Every fault is
// recorded in journal (synced) before it acts; nil keeps no journal beyond
// the events. An action repeated Every with no Repeat happens once: give
// the timeline with SetTimeline(Expand(actions, seed, until)) to bound it.
func NewRunner(actions []Action, c clock.Clock, target Instances, pub Publisher, journal Journal, seed uint64) *Runner {
	return &Runner{steps: Expand(actions, seed, 0), seed: seed, clock: c, target: target, events: pub, journal: journal,
		rand: rand.New(rand.NewPCG(seed, 0x6c6162)), pending: map[int]*injected{}}
}

// SetTimeline replaces the timeline with steps (from Expand); call it
// before Run.
func (r *Runner) SetTimeline(steps []Step) { r.steps = slices.Clone(steps) }

// SetLoadBalancer gives the runner the load balancer's fault hook; call it
// before Run.
func (r *Runner) SetLoadBalancer(lb LoadBalancer) { r.lb = lb }

// SetCapacity gives the runner the Auto Scaling group's launch-failure
// hook; call it before Run.
func (r *Runner) SetCapacity(c Capacity) { r.capacity = c }

// SetNodes gives the runner the load balancer's node control.
func (r *Runner) SetNodes(n NodeController) { r.nodes = n }

// SetStore gives the runner the run's shared database.
func (r *Runner) SetStore(s Store) { r.store = s }

// SetGauges gives the runner the figures After conditions read.
func (r *Runner) SetGauges(g Gauges) { r.gauges = g }

// SetLimits bounds the blast radius.
func (r *Runner) SetLimits(l Limits) { r.limits = l }

// record journals e and publishes it.
func (r *Runner) record(e interface {
	Kind() string
	Message() string
}) error {
	if r.journal != nil {
		if err := r.journal.Record(e); err != nil {
			return err
		}
	}
	r.events.Publish(e)
	return nil
}

// Run plays the timeline from now until every step has been injected or
// ctx ends. Steps after an event wait for it, each event on its own
// goroutine, owned by Run. It does not revert: call RevertAll when the run
// ends.
func (r *Runner) Run(ctx context.Context) {
	start := r.clock.Now()
	var timed []Step
	var afters []string
	byEvent := map[string][]Step{}
	for _, s := range r.steps {
		if s.After == "" {
			timed = append(timed, s)
			continue
		}
		if _, ok := byEvent[s.After]; !ok {
			afters = append(afters, s.After)
		}
		byEvent[s.After] = append(byEvent[s.After], s)
	}
	var wg sync.WaitGroup
	for _, expr := range afters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.playAfter(ctx, expr, byEvent[expr])
		}()
	}
	r.play(ctx, start, timed)
	wg.Wait()
}

// play injects steps in order, each At after start.
func (r *Runner) play(ctx context.Context, start time.Time, steps []Step) {
	slices.SortStableFunc(steps, func(a, b Step) int { return cmp.Compare(a.At, b.At) })
	for _, s := range steps {
		if wait := s.At - r.clock.Now().Sub(start); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.clock.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err := r.inject(ctx, s.Action, r.draw(s.N)); err != nil {
			r.events.Publish(FaultNotApplied{Action: s.Kind, Zone: s.Zone, Reason: err.Error()})
		}
	}
}

// playAfter waits, an AWS second at a time, until the event first holds,
// then plays its steps from that moment.
func (r *Runner) playAfter(ctx context.Context, expr string, steps []Step) {
	cond, err := ParseCondition(expr)
	if err == nil && r.gauges == nil {
		err = errors.New("this lab has no gauges to watch for the event")
	}
	if err != nil {
		for _, s := range steps {
			r.events.Publish(FaultNotApplied{Action: s.Kind, Zone: s.Zone, Reason: fmt.Sprintf("after %q: %v", expr, err)})
		}
		return
	}
	for {
		if v, ok := r.gauges.Gauge(cond.Metric); ok && cond.Holds(v) {
			r.events.Publish(EventHeld{Expr: expr, Observed: v})
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(time.Second):
		}
	}
	r.play(ctx, r.clock.Now(), steps)
}

// draw is step n's own random source: its choices do not depend on what
// happened before it.
func (r *Runner) draw(n int) *rand.Rand { return rand.New(rand.NewPCG(r.seed, uint64(n))) }

// Inject applies one action now (a fault by hand), choosing with the
// runner's own random source. Once a fault is on record it is carried out
// whatever happens to ctx, so that what is recorded is what happened and
// RevertAll can undo it. A fault whose effect is not seen (the runtime, the
// load balancer or the group does not show it) is undone at once and
// reported as an error: the caller publishes FaultNotApplied.
func (r *Runner) Inject(ctx context.Context, a Action) error {
	r.mu.Lock()
	seed := r.rand.Uint64()
	r.mu.Unlock()
	return r.inject(ctx, a, rand.New(rand.NewPCG(seed, 0)))
}

func (r *Runner) inject(ctx context.Context, a Action, rng *rand.Rand) error {
	ctx = context.WithoutCancel(ctx)
	switch {
	case slices.Contains(instanceKinds, a.Kind):
		return r.injectInstances(ctx, a, rng)
	case slices.Contains(requestKinds, a.Kind):
		return r.injectRequest(a, rng)
	case a.Kind == AZOutage:
		return r.injectOutage(ctx, a)
	case a.Kind == AZPartition:
		return r.injectPartition(a)
	case a.Kind == KillLBNode:
		return r.injectNodeDown(a)
	case a.Kind == StoreOutage:
		return r.injectStore(ctx, a, rng)
	case a.Kind == Monkey:
		return errors.New("monkey is a timeline of kills: give it to the runner's timeline, not by hand")
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// begin numbers a fault and puts it on record before it acts.
func (r *Runner) begin(fi FaultInjected) (*injected, error) {
	r.mu.Lock()
	r.next++
	fi.N = r.next
	r.mu.Unlock()
	f := &injected{n: fi.N, fault: fi}
	if err := r.record(f.fault); err != nil { // on record before it acts
		return nil, fmt.Errorf("not injected: %w", err)
	}
	return f, nil
}

// refused records that a fault on record did nothing, and why.
func (r *Runner) refused(f *injected, why error) error {
	r.record(FaultReverted{N: f.n, Action: f.fault.Action, Instance: f.fault.Instance, Note: "nothing to revert: " + why.Error()})
	return why
}

// hold keeps f pending until d has passed or RevertAll.
func (r *Runner) hold(f *injected, d time.Duration) {
	r.count(true, false)
	r.mu.Lock()
	r.pending[f.n] = f
	r.mu.Unlock()
	f.timer = r.clock.AfterFunc(d, func() { r.revert(context.Background(), f.n, "its duration ended") })
}

// undo reverts a fault whose effect was not seen, and says why.
func (r *Runner) undo(f *injected, why error) error {
	r.mu.Lock()
	r.pending[f.n] = f
	r.mu.Unlock()
	r.count(true, false) // it acted, so it counts, and is reverted below
	r.revert(context.Background(), f.n, "its effect was not seen")
	return why
}

// injectInstances applies an instance fault to each chosen instance.
func (r *Runner) injectInstances(ctx context.Context, a Action, rng *rand.Rand) error {
	vs, err := r.choose(a.Zone, a.Select, rng)
	if err != nil {
		return err
	}
	if a.Kind != CPUHog {
		if err := r.allowDown(len(vs)); err != nil {
			return err
		}
	}
	var errs []error
	for _, v := range vs {
		errs = append(errs, r.injectInstance(ctx, a, v))
	}
	return errors.Join(errs...)
}

func (r *Runner) injectInstance(ctx context.Context, a Action, v Victim) error {
	pauser, canPause := r.target.(Pauser)
	hogger, canHog := r.target.(Hogger)
	switch {
	case a.Kind == PauseInstance && !canPause:
		return errors.New("this lab cannot pause instances")
	case a.Kind == CPUHog && !canHog:
		return errors.New("this lab cannot burn CPU inside an instance")
	}
	fi := FaultInjected{By: a.By, Action: a.Kind, Instance: v.ID, Zone: v.Zone}
	if a.Kind != KillInstance {
		fi.Duration = a.Duration.String()
	}
	f, err := r.begin(fi)
	if err != nil {
		return err
	}
	switch a.Kind {
	case KillInstance:
		if err := r.target.Kill(ctx, v.ID); err != nil {
			return r.refused(f, fmt.Errorf("kill %s: %w", v.ID, err))
		}
		r.count(true, false)
		r.record(FaultReverted{N: f.n, Action: a.Kind, Instance: v.ID, Note: "nothing to revert: a killed instance stays dead; the Auto Scaling group replaces it"})
		r.count(false, true)
	case StopInstance:
		if err := r.target.Stop(ctx, v.ID); err != nil {
			return r.refused(f, fmt.Errorf("stop %s: %w", v.ID, err))
		}
		f.down = []string{v.ID}
		f.revert = func(ctx context.Context) (string, error) { return "", r.target.Start(ctx, v.ID) }
		r.hold(f, a.Duration)
	case PauseInstance:
		f.down = []string{v.ID}
		f.revert = func(ctx context.Context) (string, error) { return "", pauser.Resume(ctx, v.ID) }
		if err := pauser.Pause(ctx, v.ID); err != nil {
			return r.undo(f, fmt.Errorf("pause %s: %w", v.ID, err))
		}
		if paused, err := pauser.Paused(ctx, v.ID); err != nil || !paused {
			return r.undo(f, fmt.Errorf("pause %s: the runtime does not report it paused (%v)", v.ID, err))
		}
		r.hold(f, a.Duration)
	case CPUHog:
		return r.injectHog(ctx, a, f, hogger, v)
	}
	return nil
}

// hogVerify bounds the wait for the runtime's CPU reading to show a hog,
// in wall time: the runtime measures CPU in wall time.
const hogVerify = 3 * time.Second

// hogBusy is the reading (percent of the instance's CPU share) that shows
// a hog burning.
const hogBusy = 70

// injectHog burns CPU inside v's own limit and checks the runtime sees it.
func (r *Runner) injectHog(ctx context.Context, a Action, f *injected, h Hogger, v Victim) error {
	h.CPU(ctx, v.ID) // start a fresh reading window
	stop, err := h.Hog(ctx, v.ID)
	if err != nil {
		return r.refused(f, fmt.Errorf("burn CPU in %s: %w", v.ID, err))
	}
	f.revert = func(context.Context) (string, error) { return "", stop() }
	deadline := time.Now().Add(hogVerify)
	var last float64
	for {
		time.Sleep(hogVerify / 10) // a reading needs time to cover
		cpu, err := h.CPU(ctx, v.ID)
		if err == nil && cpu >= hogBusy {
			f.fault.Detail = fmt.Sprintf("the runtime reads %.0f%% CPU", cpu)
			break
		}
		last = cpu
		if time.Now().After(deadline) {
			return r.undo(f, fmt.Errorf("the runtime's CPU reading of %s stayed at %.0f%% (%v), below %d%%", v.ID, last, err, hogBusy))
		}
	}
	r.record(FaultProgress{N: f.n, Action: a.Kind, Note: fmt.Sprintf("%s burns CPU: %s", v.ID, f.fault.Detail)})
	r.hold(f, a.Duration)
	return nil
}

// requestDetail says what a request fault does, for the record.
func requestDetail(a Action, rf RequestFault) string {
	switch a.Kind {
	case HTTPError:
		if rf.Count > 0 {
			return fmt.Sprintf("the first %d request(s) (%v%% of them) answered %d as the target", rf.Count, rf.Percent, rf.Status)
		}
		return fmt.Sprintf("%v%% of requests answered %d as the target", rf.Percent, rf.Status)
	case Latency:
		return fmt.Sprintf("%v%% of requests delayed %s ± %s", rf.Percent, rf.Latency, rf.Jitter)
	case Bandwidth:
		return fmt.Sprintf("%v%% of responses limited to %d bytes/s", rf.Percent, rf.Bandwidth)
	case ConnectionReset:
		return fmt.Sprintf("%v%% of connections reset (the load balancer answers 502)", rf.Percent)
	case ConnectionTimeout:
		return fmt.Sprintf("%v%% of connections never answered (the load balancer answers 504 after its idle timeout)", rf.Percent)
	}
	return ""
}

// injectRequest installs a request or network fault in the load balancer.
func (r *Runner) injectRequest(a Action, rng *rand.Rand) error {
	if r.lb == nil {
		return errors.New("this lab has no load balancer fault hook")
	}
	rf := RequestFault{Zone: a.Zone, Percent: cmp.Or(a.Percent, 100)}
	switch a.Kind {
	case HTTPError:
		rf.Status, rf.Count = cmp.Or(a.Status, DefaultStatus), a.Count
	case Latency:
		rf.Latency, rf.Jitter = a.Latency, a.Jitter
	case Bandwidth:
		rf.Bandwidth = a.Rate
	case ConnectionReset:
		rf.Reset = true
	case ConnectionTimeout:
		rf.Hang = true
	}
	if r.lb.Targets(a.Zone) == 0 {
		return fmt.Errorf("no target registered in %s to act on", where(a.Zone))
	}
	if !a.Select.empty() {
		vs, err := r.choose(a.Zone, a.Select, rng)
		if err != nil {
			return err
		}
		for _, v := range vs {
			rf.Instances = append(rf.Instances, v.ID)
		}
	}
	detail := requestDetail(a, rf)
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Instances: rf.Instances, Detail: detail})
	if err != nil {
		return err
	}
	rf.Name = fmt.Sprintf("chaos #%d", f.n)
	remove, err := r.lb.InjectRequestFault(rf)
	if err != nil {
		return r.refused(f, fmt.Errorf("the load balancer refused it: %w", err))
	}
	f.revert = func(context.Context) (string, error) {
		hits := remove()
		if hits == 0 {
			r.events.Publish(FaultNotApplied{Action: a.Kind, Zone: a.Zone,
				Reason: fmt.Sprintf("chaos #%d hit no request: the load balancer routed none into it", f.n)})
		}
		return fmt.Sprintf("it hit %d request(s)", hits), nil
	}
	r.hold(f, a.Duration)
	return nil
}

// injectPartition cuts the load balancer's nodes off from the zone's
// targets while the zone runs: connections time out, as into a blackholed
// subnet, and so do the health checks.
func (r *Runner) injectPartition(a Action) error {
	switch {
	case r.lb == nil:
		return errors.New("this lab has no load balancer fault hook")
	case a.Zone == "":
		return errors.New("az-partition needs a zone")
	case r.lb.Targets(a.Zone) == 0:
		return fmt.Errorf("no target registered in %s to cut off", a.Zone)
	}
	if err := r.allowZone(a.Zone); err != nil {
		return err
	}
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(),
		Detail: "the load balancer's nodes cannot reach targets in " + a.Zone + ": connections time out"})
	if err != nil {
		return err
	}
	f.zone = a.Zone
	remove, err := r.lb.InjectRequestFault(RequestFault{Name: fmt.Sprintf("chaos #%d", f.n), Zone: a.Zone, Percent: 100, Blackhole: true})
	if err != nil {
		return r.refused(f, fmt.Errorf("the load balancer refused it: %w", err))
	}
	f.revert = func(context.Context) (string, error) {
		return fmt.Sprintf("%s is reachable again; %d request(s) timed out into it", a.Zone, remove()), nil
	}
	r.hold(f, a.Duration)
	return nil
}

// errNoNodeControl is why a node stays up.
var errNoNodeControl = errors.New("load balancer node control not available")

// injectNodeDown takes the zone's load-balancer node down.
func (r *Runner) injectNodeDown(a Action) error {
	if r.nodes == nil {
		return errNoNodeControl
	}
	if a.Zone == "" {
		return errors.New("kill-lb-node needs a zone")
	}
	if err := r.allowZone(a.Zone); err != nil {
		return err
	}
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(),
		Detail: "the load balancer's node in " + a.Zone + " is down"})
	if err != nil {
		return err
	}
	f.zone = a.Zone
	restore, err := r.nodes.NodeDown(a.Zone)
	if err != nil {
		return r.refused(f, fmt.Errorf("the node in %s stays up: %w", a.Zone, err))
	}
	f.revert = func(context.Context) (string, error) { restore(); return "the node in " + a.Zone + " is back", nil }
	r.hold(f, a.Duration)
	return nil
}

// injectStore locks the run's shared database; applied only if an
// instance's deep health check then fails.
func (r *Runner) injectStore(ctx context.Context, a Action, rng *rand.Rand) error {
	if r.store == nil {
		return errors.New("this lab has no shared database to lock")
	}
	vs, err := r.choose("", Selector{}, rng)
	if err != nil {
		return err
	}
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Duration: a.Duration.String(),
		Detail: "the shared database is locked: reads and writes fail, deep health checks fail"})
	if err != nil {
		return err
	}
	release, err := r.store.Lock(ctx)
	if err != nil {
		return r.refused(f, fmt.Errorf("lock the database: %w", err))
	}
	f.revert = func(context.Context) (string, error) { return "the database is unlocked", release() }
	if err := r.store.Healthy(ctx, vs[0].ID); err == nil {
		return r.undo(f, fmt.Errorf("%s still passes its deep health check with the database locked", vs[0].ID))
	} else {
		r.record(FaultProgress{N: f.n, Action: a.Kind, Note: fmt.Sprintf("%s fails its deep health check: %v", vs[0].ID, err)})
	}
	r.hold(f, a.Duration)
	return nil
}

// injectOutage is az-outage, after FIS's AZ Availability: Power
// Interruption: launches into the zone fail with InsufficientInstanceCapacity,
// the zone's subnet drops packets for the first part (BlackholeFor),
// the zone's load-balancer node goes down and every running instance in it
// is stopped; when it ends the zone takes launches again, its node is back
// and the instances still there are started.
func (r *Runner) injectOutage(ctx context.Context, a Action) error {
	if r.capacity == nil {
		return errors.New("this lab has no Auto Scaling launch-failure hook")
	}
	if a.Zone == "" {
		return errors.New("az-outage needs a zone")
	}
	if err := r.allowZone(a.Zone); err != nil {
		return err
	}
	var ids []string
	for _, v := range r.target.Running() {
		if v.Zone == a.Zone {
			ids = append(ids, v.ID)
		}
	}
	slices.Sort(ids)
	if err := r.allowDown(len(ids)); err != nil {
		return err
	}
	blackhole := cmp.Or(a.BlackholeFor, a.Duration/3)
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Instances: ids,
		Detail: fmt.Sprintf("stop %d instance(s); launches into %s fail with InsufficientInstanceCapacity; its subnet is blackholed for the first %s; its load-balancer node goes down",
			len(ids), a.Zone, clock.Short(blackhole))})
	if err != nil {
		return err
	}
	f.zone = a.Zone
	var stopped []string
	var restore, restoreNode func()
	var removeHole func() int64
	var holeTimer clock.Timer
	var holeOnce sync.Once
	endHole := func(why string) {
		holeOnce.Do(func() {
			if removeHole == nil {
				return
			}
			hits := removeHole()
			r.record(FaultProgress{N: f.n, Action: a.Kind, Note: fmt.Sprintf("%s's subnet takes packets again (%s); %d request(s) timed out into it", a.Zone, why, hits)})
		})
	}
	f.revert = func(ctx context.Context) (string, error) {
		if holeTimer != nil {
			holeTimer.Stop()
		}
		endHole("the outage ended")
		if restoreNode != nil {
			restoreNode()
		}
		if restore != nil {
			restore()
		}
		started, gone := 0, 0
		for _, id := range stopped {
			if err := r.target.Start(ctx, id); err != nil {
				gone++
			} else {
				started++
			}
		}
		return fmt.Sprintf("%s takes launches again; %d instance(s) started, %d already replaced by the group", a.Zone, started, gone), nil
	}
	restore, err = r.capacity.ImpairZone(a.Zone)
	if err != nil {
		return r.undo(f, fmt.Errorf("impair %s: %w", a.Zone, err))
	}
	var partial []string
	if r.lb != nil && blackhole > 0 {
		removeHole, err = r.lb.InjectRequestFault(RequestFault{Name: fmt.Sprintf("chaos #%d", f.n), Zone: a.Zone, Percent: 100, Blackhole: true})
		if err != nil {
			partial = append(partial, fmt.Sprintf("the subnet is not blackholed: %v", err))
		} else {
			holeTimer = r.clock.AfterFunc(blackhole, func() { endHole("the first " + clock.Short(blackhole) + " ended") })
		}
	} else if r.lb == nil {
		partial = append(partial, "the subnet is not blackholed: this lab has no load balancer fault hook")
	}
	if r.nodes == nil {
		partial = append(partial, "the zone's load-balancer node stays up: "+errNoNodeControl.Error())
	} else if restoreNode, err = r.nodes.NodeDown(a.Zone); err != nil {
		partial = append(partial, fmt.Sprintf("the zone's load-balancer node stays up: %v", err))
	}
	var errs []error
	for _, id := range ids {
		if err := r.target.Stop(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", id, err))
			continue
		}
		stopped = append(stopped, id)
	}
	f.down = stopped
	if !r.capacity.ZoneImpaired(a.Zone) {
		return r.undo(f, fmt.Errorf("the group does not report %s impaired", a.Zone))
	}
	for _, v := range r.target.Running() {
		if v.Zone == a.Zone && slices.Contains(stopped, v.ID) {
			errs = append(errs, fmt.Errorf("%s is still running after its stop", v.ID))
		}
	}
	if err := errors.Join(errs...); err != nil && len(stopped) == 0 && len(ids) > 0 {
		return r.undo(f, err)
	} else if err != nil {
		partial = append(partial, err.Error())
	}
	for _, p := range partial {
		r.events.Publish(FaultNotApplied{Action: a.Kind, Zone: a.Zone, Reason: fmt.Sprintf("chaos #%d in part: %s", f.n, p)})
	}
	r.hold(f, a.Duration)
	return nil
}

func where(zone string) string {
	if zone == "" {
		return "any zone"
	}
	return zone
}

func (r *Runner) count(inj, rev bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inj {
		r.injected++
	}
	if rev {
		r.reverted++
	}
}

// revert undoes fault n once; why says what ended it.
func (r *Runner) revert(ctx context.Context, n int, why string) error {
	r.mu.Lock()
	f, ok := r.pending[n]
	delete(r.pending, n)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	if f.timer != nil {
		f.timer.Stop()
	}
	found, err := f.revert(ctx)
	note := "reverted because " + why
	if err != nil {
		note = fmt.Sprintf("revert (because %s) found nothing to undo: %v", why, err)
	} else if found != "" {
		note += "; " + found
	}
	r.record(FaultReverted{N: n, Action: f.fault.Action, Instance: f.fault.Instance, Note: note})
	r.count(false, true)
	return nil
}

// RevertAll undoes every fault still in effect; call it when the run ends,
// on Ctrl-C too. Safe to call more than once.
func (r *Runner) RevertAll(ctx context.Context, why string) error {
	r.mu.Lock()
	ns := make([]int, 0, len(r.pending))
	for n := range r.pending {
		ns = append(ns, n)
	}
	r.mu.Unlock()
	slices.Sort(ns)
	var errs []error
	for _, n := range ns {
		errs = append(errs, r.revert(ctx, n, why))
	}
	return errors.Join(errs...)
}

// Pending is how many faults are in effect now.
func (r *Runner) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Counts is how many faults were injected and reverted so far.
func (r *Runner) Counts() (injected, reverted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.injected, r.reverted
}
