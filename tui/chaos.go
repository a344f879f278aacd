package tui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
)

// Faults by hand: k kills a random running instance, z takes a zone out
// (az-outage as FIS does it: its instances stop, no launches there, its
// subnets cut off for the first 2 minutes, its node left up). Both go through the
// run's handle to the run's one chaos runner, so each fault shares the
// timeline's numbering, is journalled in chaos.jsonl before it acts,
// published on the bus (events.jsonl and the log), reverted with the others
// at the end and counted in the summary; the runner chooses the victim with
// the run's seed.

// handChaos is the view's side of the faults by hand.
type handChaos struct {
	mu     sync.Mutex
	manual map[faultKey]bool // faults by hand, to tell their reverts apart in the log
	busy   bool              // one fault by hand at a time
}

type faultKey struct {
	n        int
	instance string
}

// isManual reports whether a chaos event is a fault by hand or its revert.
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

// begin claims the one fault-by-hand slot; it says why not when it cannot.
func (a *Aggregator) begin(what string) (liveRun, bool) {
	a.mu.Lock()
	run, done := a.run, a.done
	a.mu.Unlock()
	switch {
	case done:
		a.Note(what + ": the run has ended")
		return nil, false
	case run == nil:
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
	return run, true
}

func (a *Aggregator) end() {
	a.hand.mu.Lock()
	a.hand.busy = false
	a.hand.mu.Unlock()
}

// KillRandom kills one running instance, chosen with the seed, as the
// scenario's kill-instance does (k). It blocks until the kill is done.
func (a *Aggregator) KillRandom(ctx context.Context) {
	run, ok := a.begin("k")
	if !ok {
		return
	}
	defer a.end()
	a.Note("k: killing a random running instance (kill-instance, by hand)")
	if err := run.Inject(ctx, chaos.Action{Kind: chaos.KillInstance, By: "hand"}); err != nil {
		a.Note("k: " + err.Error())
	}
}

// handOutage is how long an az-outage by hand lasts (AWS time), as the
// built-in az-outage scenario's.
const handOutage = 10 * time.Minute

// ZoneOut takes zone out as the scenario's az-outage does (z), by hand, as
// FIS's AZ power interruption: its instances stop, launches into it fail
// with InsufficientInstanceCapacity, its subnets are cut off for the first
// 2 minutes and its load-balancer node stays up, for ten AWS minutes; then
// it recovers.
// It blocks until the outage is in effect.
func (a *Aggregator) ZoneOut(ctx context.Context, zone string) {
	run, ok := a.begin("z")
	if !ok {
		return
	}
	defer a.end()
	a.Note(fmt.Sprintf("z: %s loses power for %s (az-outage, by hand): its %d running instance(s) stop, launches into it fail",
		zone, handOutage, run.Running(zone)))
	if err := run.Inject(ctx, chaos.Action{Kind: chaos.AZOutage, Zone: zone, Duration: handOutage, By: "hand"}); err != nil {
		a.Note("z: " + err.Error())
	}
}
