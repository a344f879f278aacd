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
)

// DefaultStatus is what http-error answers when the action gives no status.
const DefaultStatus = 503

// Action is one fault on the timeline; At and Duration are AWS durations
// from the start of the run. Latency and Jitter are request time (wall
// time, as the load generator measures latency).
type Action struct {
	At       time.Duration
	Kind     string
	Zone     string // empty: any zone (all zones for http-error and latency)
	Duration time.Duration
	Percent  float64 // http-error, latency: the share of requests hit, 0 to 100 (0: 100)
	Status   int     // http-error: the status answered (0: DefaultStatus)
	Latency  time.Duration
	Jitter   time.Duration
	By       string // who asked: "" for the scenario's timeline, "hand" for a person at the TUI
}

// Victim is an instance chaos may act on.
type Victim struct {
	ID   string
	Zone string
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
	Name    string // "chaos #3"
	Zone    string // the targets' zone; "" for all
	Percent float64
	Status  int
	Latency time.Duration
	Jitter  time.Duration
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

// Publisher takes chaos events.
type Publisher interface{ Publish(events.Event) }

// Runner plays a timeline of actions.
type Runner struct {
	actions  []Action
	clock    clock.Clock
	target   Instances
	lb       LoadBalancer // nil: http-error and latency are not applied
	capacity Capacity     // nil: az-outage is not applied
	events   Publisher
	journal  Journal
	rand     *rand.Rand

	mu       sync.Mutex
	pending  map[int]*injected // faults not yet reverted, by number
	next     int
	injected int
	reverted int
	wg       sync.WaitGroup
}

type injected struct {
	n      int
	fault  FaultInjected
	revert func(context.Context) (note string, err error) // note: what the revert found, for the record
	timer  clock.Timer
}

// NewRunner prepares a timeline; seed makes victim choice repeatable. Every
// fault is recorded in journal (synced) before it acts; nil keeps no journal
// beyond the events.
func NewRunner(actions []Action, c clock.Clock, target Instances, pub Publisher, journal Journal, seed uint64) *Runner {
	as := slices.Clone(actions)
	slices.SortStableFunc(as, func(a, b Action) int { return cmp.Compare(a.At, b.At) })
	return &Runner{actions: as, clock: c, target: target, events: pub, journal: journal,
		rand: rand.New(rand.NewPCG(seed, 0x6c6162)), pending: map[int]*injected{}}
}

// SetLoadBalancer gives the runner the load balancer's fault hook; call it
// before Run.
func (r *Runner) SetLoadBalancer(lb LoadBalancer) { r.lb = lb }

// SetCapacity gives the runner the Auto Scaling group's launch-failure
// hook; call it before Run.
func (r *Runner) SetCapacity(c Capacity) { r.capacity = c }

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

// Run plays the timeline from now until the last action has been injected
// or ctx ends. It does not revert: call RevertAll when the run ends.
func (r *Runner) Run(ctx context.Context) {
	start := r.clock.Now()
	for _, a := range r.actions {
		if wait := a.At - r.clock.Now().Sub(start); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.clock.After(wait):
			}
		}
		if err := r.Inject(ctx, a); err != nil {
			r.events.Publish(FaultNotApplied{Action: a.Kind, Zone: a.Zone, Reason: err.Error()})
		}
	}
}

// Inject applies one action now. Once a fault is on record it is carried
// out whatever happens to ctx, so that what is recorded is what happened and
// RevertAll can undo it. A fault whose effect is not seen (the runtime, the
// load balancer or the group does not show it) is undone at once and
// reported as an error: the caller publishes FaultNotApplied.
func (r *Runner) Inject(ctx context.Context, a Action) error {
	ctx = context.WithoutCancel(ctx)
	switch a.Kind {
	case KillInstance, StopInstance, PauseInstance:
		return r.injectInstance(ctx, a)
	case HTTPError, Latency:
		return r.injectRequest(a)
	case AZOutage:
		return r.injectOutage(ctx, a)
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

func (r *Runner) injectInstance(ctx context.Context, a Action) error {
	pauser, canPause := r.target.(Pauser)
	if a.Kind == PauseInstance && !canPause {
		return errors.New("this lab cannot pause instances")
	}
	v, err := r.pick(a.Zone)
	if err != nil {
		return err
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
			return fmt.Errorf("kill %s: %w", v.ID, err)
		}
		r.count(true, false)
		r.record(FaultReverted{N: f.n, Action: a.Kind, Instance: v.ID, Note: "nothing to revert: a killed instance stays dead; the Auto Scaling group replaces it"})
		r.count(false, true)
	case StopInstance:
		if err := r.target.Stop(ctx, v.ID); err != nil {
			return fmt.Errorf("stop %s: %w", v.ID, err)
		}
		f.revert = func(ctx context.Context) (string, error) { return "", r.target.Start(ctx, v.ID) }
		r.hold(f, a.Duration)
	case PauseInstance:
		f.revert = func(ctx context.Context) (string, error) { return "", pauser.Resume(ctx, v.ID) }
		if err := pauser.Pause(ctx, v.ID); err != nil {
			return r.undo(f, fmt.Errorf("pause %s: %w", v.ID, err))
		}
		if paused, err := pauser.Paused(ctx, v.ID); err != nil || !paused {
			return r.undo(f, fmt.Errorf("pause %s: the runtime does not report it paused (%v)", v.ID, err))
		}
		r.hold(f, a.Duration)
	}
	return nil
}

// injectRequest installs an http-error or latency fault in the load balancer.
func (r *Runner) injectRequest(a Action) error {
	if r.lb == nil {
		return errors.New("this lab has no load balancer fault hook")
	}
	rf := RequestFault{Zone: a.Zone, Percent: a.Percent, Latency: a.Latency, Jitter: a.Jitter}
	if rf.Percent == 0 {
		rf.Percent = 100
	}
	var detail string
	if a.Kind == HTTPError {
		rf.Status, rf.Latency, rf.Jitter = cmp.Or(a.Status, DefaultStatus), 0, 0
		detail = fmt.Sprintf("%v%% of requests answered %d as the target", rf.Percent, rf.Status)
	} else {
		detail = fmt.Sprintf("%v%% of requests delayed %s ± %s", rf.Percent, rf.Latency, rf.Jitter)
	}
	if r.lb.Targets(a.Zone) == 0 {
		return fmt.Errorf("no target registered in %s to act on", where(a.Zone))
	}
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Detail: detail})
	if err != nil {
		return err
	}
	rf.Name = fmt.Sprintf("chaos #%d", f.n)
	remove, err := r.lb.InjectRequestFault(rf)
	if err != nil {
		r.record(FaultReverted{N: f.n, Action: a.Kind, Note: "nothing to revert: the load balancer refused it"})
		return fmt.Errorf("the load balancer refused it: %w", err)
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

// injectOutage is az-outage, after FIS's AZ Availability: Power
// Interruption: launches into the zone fail with InsufficientInstanceCapacity
// and every running instance in it is stopped; when it ends the zone takes
// launches again and the instances still there are started.
func (r *Runner) injectOutage(ctx context.Context, a Action) error {
	if r.capacity == nil {
		return errors.New("this lab has no Auto Scaling launch-failure hook")
	}
	if a.Zone == "" {
		return errors.New("az-outage needs a zone")
	}
	var ids []string
	for _, v := range r.target.Running() {
		if v.Zone == a.Zone {
			ids = append(ids, v.ID)
		}
	}
	slices.Sort(ids)
	f, err := r.begin(FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Instances: ids,
		Detail: fmt.Sprintf("stop %d instance(s); launches into %s fail with InsufficientInstanceCapacity", len(ids), a.Zone)})
	if err != nil {
		return err
	}
	var stopped []string
	var restore func()
	f.revert = func(ctx context.Context) (string, error) {
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
	var errs []error
	for _, id := range ids {
		if err := r.target.Stop(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", id, err))
			continue
		}
		stopped = append(stopped, id)
	}
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
		r.events.Publish(FaultNotApplied{Action: a.Kind, Zone: a.Zone, Reason: fmt.Sprintf("chaos #%d in part: %v", f.n, err)})
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

// pick chooses a running victim, in the zone if one is named, with the seed.
func (r *Runner) pick(zone string) (Victim, error) {
	var vs []Victim
	for _, v := range r.target.Running() {
		if zone == "" || v.Zone == zone {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return Victim{}, fmt.Errorf("no running instance in %s to act on", where(zone))
	}
	slices.SortFunc(vs, func(a, b Victim) int { return cmp.Compare(a.ID, b.ID) })
	return vs[r.rand.IntN(len(vs))], nil
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

// Counts is how many faults were injected and reverted so far.
func (r *Runner) Counts() (injected, reverted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.injected, r.reverted
}
