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
	KillInstance = "kill-instance"
	StopInstance = "stop-instance"
)

// Action is one fault on the timeline; At and Duration are AWS durations
// from the start of the run.
type Action struct {
	At       time.Duration
	Kind     string
	Zone     string // empty: any zone
	Duration time.Duration
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

// Publisher takes chaos events.
type Publisher interface{ Publish(events.Event) }

// Runner plays a timeline of actions.
type Runner struct {
	actions []Action
	clock   clock.Clock
	target  Instances
	events  Publisher
	journal Journal
	rand    *rand.Rand

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
	revert func(context.Context) error
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
// RevertAll can undo it.
func (r *Runner) Inject(ctx context.Context, a Action) error {
	ctx = context.WithoutCancel(ctx)
	v, err := r.pick(a.Zone)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.next++
	f := &injected{n: r.next, fault: FaultInjected{N: r.next, Action: a.Kind, Instance: v.ID, Zone: v.Zone, Duration: a.Duration.String()}}
	r.mu.Unlock()
	if err := r.record(f.fault); err != nil { // on record before it acts
		return fmt.Errorf("not injected: %w", err)
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
		r.count(true, false)
		f.revert = func(ctx context.Context) error { return r.target.Start(ctx, v.ID) }
		r.mu.Lock()
		r.pending[f.n] = f
		r.mu.Unlock()
		f.timer = r.clock.AfterFunc(a.Duration, func() { r.revert(context.Background(), f.n, "its duration ended") })
	default:
		return fmt.Errorf("unknown action %q", a.Kind)
	}
	return nil
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
		where := "any zone"
		if zone != "" {
			where = zone
		}
		return Victim{}, fmt.Errorf("no running instance in %s to act on", where)
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
	err := f.revert(ctx)
	note := "reverted because " + why
	if err != nil {
		note = fmt.Sprintf("revert (because %s) found nothing to undo: %v", why, err)
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
