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
)

// Runner plays a timeline of actions. It numbers each fault, puts it on
// record before it acts, holds it until its time is up, reverts it, and
// keeps the limits and the counts; the faults themselves (fault.go and a
// fault_*.go file each) only apply, verify and revert.
type Runner struct {
	hooks
	steps   []Step
	seed    uint64
	gauges  Gauges // nil: actions after an event are not applied
	limits  Limits
	events  Publisher
	journal Journal
	rand    *rand.Rand // faults by hand

	mu       sync.Mutex
	pending  map[int]*injected // faults not yet reverted, by number
	undoing  int               // reverts in progress (taken out of pending, not yet on record)
	undone   *sync.Cond        // on mu: signalled when undoing drops
	next     int
	injected int
	reverted int
}

// injected is a fault on record.
type injected struct {
	n     int
	rec   FaultInjected
	fault fault
	timer clock.Timer // ends it
	down  []string    // instances it holds down, for max_down_instances
	zone  string      // the zone it takes down, for max_down_zones
}

// NewRunner prepares a timeline; seed makes every choice repeatable (which
// instances, when a repeated action's jitter lands). Every fault is
// recorded in journal (synced) before it acts; nil keeps no journal beyond
// the events. An action repeated Every with no Repeat happens once: give
// the timeline with SetTimeline(Expand(actions, seed, until)) to bound it.
func NewRunner(actions []Action, c clock.Clock, target Instances, pub Publisher, journal Journal, seed uint64) *Runner {
	r := &Runner{hooks: hooks{clock: c, target: target}, steps: Expand(actions, seed, 0), seed: seed, events: pub, journal: journal,
		rand: rand.New(rand.NewPCG(seed, 0x6c6162)), pending: map[int]*injected{}}
	r.undone = sync.NewCond(&r.mu)
	return r
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

// SetDatabase gives the runner the run's data tier.
func (r *Runner) SetDatabase(d Database) { r.db = d }

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

// inject plans the action's faults with its kind, checks them against the
// limits and injects each.
func (r *Runner) inject(ctx context.Context, a Action, rng *rand.Rand) error {
	ctx = context.WithoutCancel(ctx)
	if a.Kind == Monkey {
		return errors.New("monkey is a timeline of kills: give it to the runner's timeline, not by hand")
	}
	plan, ok := plans[a.Kind]
	if !ok {
		return fmt.Errorf("unknown action %q", a.Kind)
	}
	p, err := plan(r.hooks, a, rng)
	if err != nil {
		return err
	}
	if p.zone != "" {
		if err := r.allowZone(p.zone); err != nil {
			return err
		}
	}
	if err := r.allowDown(p.down); err != nil {
		return err
	}
	if len(p.faults) == 1 {
		return r.injectOne(ctx, p.faults[0], p.zone, a.Duration)
	}
	var errs []error
	for _, one := range p.faults {
		errs = append(errs, r.injectOne(ctx, one, p.zone, a.Duration))
	}
	return errors.Join(errs...)
}

// injectOne takes one fault through its life: on record, applied, seen,
// then held for d (or over at once, or undone when its effect is not
// seen).
func (r *Runner) injectOne(ctx context.Context, p planned, zone string, d time.Duration) error {
	f, err := r.begin(p.rec)
	if err != nil {
		return err
	}
	f.fault, f.zone = p.fault, zone
	s := r.self(f)
	err = f.fault.apply(ctx, s)
	f.down = holding(f.fault)
	var acted actedError
	switch {
	case errors.As(err, &acted):
		return r.undo(f, acted.error)
	case err != nil:
		return r.refused(f, err)
	}
	if o, ok := f.fault.(oneShot); ok {
		r.count(true, false)
		r.record(FaultReverted{N: f.n, Action: f.rec.Action, Instance: f.rec.Instance, Note: "nothing to revert: " + o.over()})
		r.count(false, true)
		return nil
	}
	seen, err := f.fault.verify(ctx)
	var part *partial
	switch {
	case errors.As(err, &part):
		for _, m := range part.missing {
			s.missed("in part: " + m)
		}
	case err != nil:
		return r.undo(f, err)
	}
	if seen != "" {
		s.progress(seen)
	}
	r.hold(f, d)
	return nil
}

// self is what fault f is told of itself: its name, and where what it sees
// goes (on record under its number).
func (r *Runner) self(f *injected) self {
	return self{
		name:     fmt.Sprintf("chaos #%d", f.n),
		progress: func(note string) { r.record(FaultProgress{N: f.n, Action: f.rec.Action, Note: note}) },
		missed: func(reason string) {
			r.events.Publish(FaultNotApplied{Action: f.rec.Action, Zone: f.rec.Zone, Reason: fmt.Sprintf("chaos #%d %s", f.n, reason)})
		},
	}
}

// begin numbers a fault and puts it on record before it acts.
func (r *Runner) begin(fi FaultInjected) (*injected, error) {
	r.mu.Lock()
	r.next++
	fi.N = r.next
	r.mu.Unlock()
	f := &injected{n: fi.N, rec: fi}
	if err := r.record(f.rec); err != nil { // on record before it acts
		return nil, fmt.Errorf("not injected: %w", err)
	}
	return f, nil
}

// refused records that a fault on record did nothing, and why.
func (r *Runner) refused(f *injected, why error) error {
	r.record(FaultReverted{N: f.n, Action: f.rec.Action, Instance: f.rec.Instance, Note: "nothing to revert: " + why.Error()})
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
	if ok {
		r.undoing++
	}
	r.mu.Unlock()
	if !ok {
		return nil
	}
	defer func() {
		r.mu.Lock()
		r.undoing--
		r.undone.Broadcast()
		r.mu.Unlock()
	}()
	if f.timer != nil {
		f.timer.Stop()
	}
	found, err := f.fault.revert(ctx)
	note := "reverted because " + why
	open := false
	switch {
	case errors.Is(err, ErrGone):
		note = fmt.Sprintf("revert (because %s) found nothing to undo: %v", why, err)
	case err != nil:
		note = fmt.Sprintf("revert (because %s) failed: %v; kept open in the chaos journal, so lab down tries again", why, err)
		open = true
	case found != "":
		note += "; " + found
	}
	r.record(FaultReverted{N: n, Action: f.rec.Action, Instance: f.rec.Instance, Note: note, Open: open})
	r.count(false, true)
	return nil
}

// RevertAll undoes every fault still in effect, and waits for the reverts
// already under way (a fault whose duration ended just before) to be on
// record, so that Counts after it counts every fault reverted; call it
// when the run ends, on Ctrl-C too. Safe to call more than once.
func (r *Runner) RevertAll(ctx context.Context, why string) error {
	defer func() {
		r.mu.Lock()
		for r.undoing > 0 {
			r.undone.Wait()
		}
		r.mu.Unlock()
	}()
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
