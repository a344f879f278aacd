package chaos

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
)

// A fault is one fault on what it acts on, as a toxic is in toxiproxy: it
// applies itself, verifies that its effect is seen, and reverts itself. It
// knows nothing of journals, numbering, timers, limits or counts: the
// Runner does that, the same way for every fault (injectOne). Each kind is
// in its own fault_*.go file.
type fault interface {
	// apply does it. An error means it did nothing (the runner records
	// it refused), unless it is an actedError: then it may have done part,
	// and the runner reverts it.
	apply(ctx context.Context, s self) error
	// verify checks that the effect is seen, and says what was seen (for
	// the record; "" for nothing to say). An error undoes the fault, unless
	// it is a partial: then the fault goes on without what it lists.
	verify(ctx context.Context) (seen string, err error)
	// revert undoes it and says what it found.
	revert(ctx context.Context) (note string, err error)
}

// self is what a fault is told of itself once it is on record.
type self struct {
	name     string              // "chaos #3": the name the load balancer knows it by
	progress func(note string)   // something it saw while in effect: put on record (FaultProgress)
	missed   func(reason string) // something it did not do: published (FaultNotApplied), after "chaos #3 "
}

// oneShot is a fault that is over once applied, with nothing to revert
// (kill-instance); over says why.
type oneShot interface{ over() string }

// holder is a fault that holds instances down while in effect (stopped,
// frozen): they count against max_down_instances.
type holder interface{ holding() []string }

func holding(f fault) []string {
	if h, ok := f.(holder); ok {
		return h.holding()
	}
	return nil
}

// actedError is an apply that failed after it may have acted.
type actedError struct{ error }

func (e actedError) Unwrap() error { return e.error }

// partial lists the parts of a compound fault that are missing while the
// rest goes on.
type partial struct{ missing []string }

func (p *partial) Error() string { return strings.Join(p.missing, "; ") }

// inPart is a part left out: the fault goes on without it.
func inPart(missing ...string) error { return &partial{missing: missing} }

// A plan is what one action will do, worked out before anything acts.
type plan struct {
	zone   string    // the zone it takes down, for max_down_zones ("" none)
	down   int       // how many instances it takes down, for max_down_instances
	faults []planned // one per chosen instance for an instance fault
}

// planned is one fault ready to go on record.
type planned struct {
	rec   FaultInjected // what is recorded before it acts; the runner numbers it
	fault fault
}

// plans makes each kind's plan from the lab's hooks; rng makes its random
// choices. A kind the lab cannot apply, or that finds nothing to act on,
// is an error, and nothing goes on record.
var plans = map[string]func(h hooks, a Action, rng *rand.Rand) (plan, error){
	KillInstance:      planKill,
	StopInstance:      planStop,
	PauseInstance:     planPause,
	CPUHog:            planHog,
	HTTPError:         planRequest,
	Latency:           planRequest,
	Bandwidth:         planRequest,
	ConnectionReset:   planRequest,
	ConnectionTimeout: planRequest,
	AZPartition:       planPartition,
	KillLBNode:        planNodeDown,
	StoreOutage:       planStore,
	AZOutage:          planOutage,
	DBFailover:        planDBFailover,
	KillDB:            planKillDB,
	ReplicaLag:        planReplicaLag,
	DBConnections:     planDBConnections,
	RepointDatabase:   planRepointDatabase,
}

// eachInstance plans an instance fault: the selector's instances, one fault
// each, made by mk; takesDown counts them against max_down_instances;
// lacks, when set, is why this lab cannot apply it.
func eachInstance(h hooks, a Action, rng *rand.Rand, takesDown bool, lacks error, mk func(Victim) fault) (plan, error) {
	vs, err := h.choose(a.Zone, a.Select, rng)
	if err != nil {
		return plan{}, err
	}
	if lacks != nil {
		return plan{}, lacks
	}
	var p plan
	if takesDown {
		p.down = len(vs)
	}
	for _, v := range vs {
		rec := FaultInjected{By: a.By, Action: a.Kind, Instance: v.ID, Zone: v.Zone}
		if a.Kind != KillInstance {
			rec.Duration = a.Duration.String()
		}
		p.faults = append(p.faults, planned{rec: rec, fault: mk(v)})
	}
	return p, nil
}

// one plans a fault of its own (not per instance).
func one(zone string, down int, rec FaultInjected, f fault) plan {
	return plan{zone: zone, down: down, faults: []planned{{rec: rec, fault: f}}}
}

// compound is a fault made of parts, applied in order and reverted in the
// reverse order. A part that fails in part (a partial) is left out and the
// rest go on; one that fails outright stops the compound, and its revert
// then undoes the parts already applied. Its notes are its parts', in
// their order.
type compound struct {
	parts   []fault
	done    []fault  // the parts applied, in order
	missing []string // what the parts left out
}

func (c *compound) apply(ctx context.Context, s self) error {
	for _, p := range c.parts {
		err := p.apply(ctx, s)
		var part *partial
		switch {
		case errors.As(err, &part):
			c.missing = append(c.missing, part.missing...)
			continue
		case err != nil:
			return actedError{err} // the parts done are reverted
		}
		c.done = append(c.done, p)
	}
	return nil
}

func (c *compound) verify(ctx context.Context) (string, error) {
	var seen []string
	for _, p := range c.done {
		s, err := p.verify(ctx)
		var part *partial
		switch {
		case errors.As(err, &part):
			c.missing = append(c.missing, part.missing...)
		case err != nil:
			return "", err
		}
		if s != "" {
			seen = append(seen, s)
		}
	}
	if len(c.missing) > 0 {
		return strings.Join(seen, "; "), inPart(c.missing...)
	}
	return strings.Join(seen, "; "), nil
}

func (c *compound) revert(ctx context.Context) (string, error) {
	notes := make([]string, len(c.done))
	var errs []error
	for i := len(c.done) - 1; i >= 0; i-- {
		note, err := c.done[i].revert(ctx)
		notes[i] = note
		errs = append(errs, err)
	}
	return strings.Join(slices.DeleteFunc(notes, func(n string) bool { return n == "" }), "; "), errors.Join(errs...)
}

func (c *compound) holding() []string {
	var ids []string
	for _, p := range c.done {
		ids = append(ids, holding(p)...)
	}
	return ids
}
