package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/az"
)

// Faults by hand: k kills a random running instance, z takes a zone out
// (az-outage: its instances stop, no launches there, its subnet blackholed
// at first, its node down where the load balancer can). Both go through a chaos.Runner, so each
// fault is journalled in chaos.jsonl before it acts, published on the bus
// (events.jsonl and the log) and counted by that runner. The runner is the
// run's own when lab.Run hands it over (UseRunner); until then it is one the
// view keeps, with the run's journal, the run's bus and a seeded choice of
// victim.

// injector is what a fault by hand acts through.
type injector interface {
	Inject(ctx context.Context, a chaos.Action) error
}

// handChaos is the view's side of the faults by hand.
type handChaos struct {
	mu      sync.Mutex
	run     injector // the run's runner, once handed over
	own     *chaos.Runner
	journal *chaos.FileJournal
	manual  map[faultKey]bool // the own runner's faults, to tell them apart in the log
	seed    uint64
	busy    bool // one fault by hand at a time
}

type faultKey struct {
	n        int
	instance string
}

// UseRunner makes k and z act through the run's own chaos runner, so that
// their faults share its numbering, its journal and the summary's counts.
// Call it from lab.Run once the runner exists (the lead's OnChaos hook).
func (a *Aggregator) UseRunner(r *chaos.Runner) {
	a.hand.mu.Lock()
	defer a.hand.mu.Unlock()
	a.hand.run = r
}

// injectorFor is the runner to act through, making the view's own if the
// run has not handed its over.
func (a *Aggregator) injectorFor(l *lab.Lab) (injector, error) {
	h := &a.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run != nil {
		return h.run, nil
	}
	if h.own == nil {
		j, err := chaos.OpenFileJournal(filepath.Join(l.Dir, "chaos.jsonl"))
		if err != nil {
			return nil, err
		}
		h.journal = j
		h.own = l.NewChaosRunner(&scenarios.Scenario{}, h.seed^0x68616e64, j) // every hook: z needs the group's and the load balancer's
	}
	return h.own, nil
}

// isManual reports whether a chaos event is one of the own runner's.
func (a *Aggregator) isManual(e events.Event) bool {
	var k faultKey
	switch ev := e.(type) {
	case chaos.FaultInjected:
		if ev.By == "hand" {
			a.hand.mu.Lock()
			if a.hand.manual == nil {
				a.hand.manual = map[faultKey]bool{}
			}
			a.hand.manual[faultKey{ev.N, ev.Instance}] = true // its revert is by hand too
			a.hand.mu.Unlock()
			return true
		}
		k = faultKey{ev.N, ev.Instance}
	case chaos.FaultReverted:
		k = faultKey{ev.N, ev.Instance}
	default:
		return false
	}
	a.hand.mu.Lock()
	defer a.hand.mu.Unlock()
	return a.hand.manual[k]
}

// labVictims is chaos.Instances over a running lab, as the run's own chaos
// sees them: the group's instances that the runtime says are running.
type labVictims struct{ l *lab.Lab }

func (v labVictims) Running() []chaos.Victim {
	running := runningIDs(v.l)
	var vs []chaos.Victim
	for _, in := range v.l.Group.Instances() {
		if running[in.ID] {
			vs = append(vs, chaos.Victim{ID: string(in.ID), Zone: in.Zone})
		}
	}
	return vs
}

func (v labVictims) Kill(ctx context.Context, id string) error {
	return v.l.Runtime.Kill(ctx, az.InstanceID(id))
}

func (v labVictims) Stop(ctx context.Context, id string) error {
	return v.l.Runtime.Stop(ctx, az.InstanceID(id))
}

func (v labVictims) Start(ctx context.Context, id string) error {
	return v.l.Runtime.Start(ctx, az.InstanceID(id))
}

func runningIDs(l *lab.Lab) map[az.InstanceID]bool {
	list, err := l.Runtime.List(context.Background())
	out := map[az.InstanceID]bool{}
	if err != nil {
		return out
	}
	for _, in := range list {
		if in.State == az.StateRunning || in.State == az.StatePaused {
			out[in.ID] = true
		}
	}
	return out
}

// runningIn counts the zone's running instances of the group.
func runningIn(l *lab.Lab, zone string) int {
	n := 0
	for _, v := range (labVictims{l}).Running() {
		if v.Zone == zone {
			n++
		}
	}
	return n
}

// begin claims the one fault-by-hand slot; it says why not when it cannot.
func (a *Aggregator) begin(what string) (*lab.Lab, bool) {
	a.mu.Lock()
	l, done := a.lab, a.done
	a.mu.Unlock()
	switch {
	case done:
		a.Note(what + ": the run has ended")
		return nil, false
	case l == nil:
		a.Note(what + ": the tier is not up yet")
		return nil, false
	}
	a.hand.mu.Lock()
	defer a.hand.mu.Unlock()
	if a.hand.busy {
		a.Note(what + ": the previous fault by hand is still under way")
		return nil, false
	}
	a.hand.busy = true
	return l, true
}

func (a *Aggregator) end() {
	a.hand.mu.Lock()
	a.hand.busy = false
	a.hand.mu.Unlock()
}

// KillRandom kills one running instance, chosen with the seed, as the
// scenario's kill-instance does (k). It blocks until the kill is done.
func (a *Aggregator) KillRandom(ctx context.Context) {
	l, ok := a.begin("k")
	if !ok {
		return
	}
	defer a.end()
	inj, err := a.injectorFor(l)
	if err == nil {
		a.Note("k: killing a random running instance (kill-instance, by hand)")
		err = inj.Inject(ctx, chaos.Action{Kind: chaos.KillInstance, By: "hand"})
	}
	if err != nil {
		a.Note("k: " + err.Error())
	}
}

// handOutage is how long an az-outage by hand lasts (AWS time), as the
// built-in az-outage scenario's.
const handOutage = 10 * time.Minute

// ZoneOut takes zone out as the scenario's az-outage does (z), by hand: its
// instances stop, launches into it fail with InsufficientInstanceCapacity,
// its subnet is blackholed for the first third, its load-balancer node goes
// down where the load balancer can, for ten AWS minutes; then it recovers.
// It blocks until the outage is in effect.
func (a *Aggregator) ZoneOut(ctx context.Context, zone string) {
	l, ok := a.begin("z")
	if !ok {
		return
	}
	defer a.end()
	inj, err := a.injectorFor(l)
	if err != nil {
		a.Note("z: " + err.Error())
		return
	}
	a.Note(fmt.Sprintf("z: %s loses power for %s (az-outage, by hand): its %d running instance(s) stop, launches into it fail",
		zone, handOutage, runningIn(l, zone)))
	if err := inj.Inject(ctx, chaos.Action{Kind: chaos.AZOutage, Zone: zone, Duration: handOutage, By: "hand"}); err != nil {
		a.Note("z: " + err.Error())
	}
}

// closeHand reverts what the view's own runner still has in effect and
// closes its journal.
func (a *Aggregator) closeHand() {
	a.hand.mu.Lock()
	defer a.hand.mu.Unlock()
	if a.hand.own != nil {
		a.hand.own.RevertAll(context.Background(), "the run ended")
	}
	if a.hand.journal != nil {
		a.hand.journal.Close()
		a.hand.journal = nil
	}
}
