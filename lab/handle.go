package lab

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
)

// Handle is a running lab as a view of the run uses it (the TUI, `lab
// watch` through the TUI's live socket, later a remote agent): what the lab
// looks like now, a fault by hand through the run's one chaos runner and
// journal, and the run directory. It hands out nothing that points into
// the lab.
type Handle struct{ l *Lab }

// Handle is the lab's handle for a view of it.
func (l *Lab) Handle() *Handle { return &Handle{l: l} }

// Dir is the run directory.
func (h *Handle) Dir() string { return h.l.Dir }

// Now is the lab's AWS time.
func (h *Handle) Now() time.Time { return h.l.Clock.Now() }

// Observe reads the lab now.
func (h *Handle) Observe() Observation { return h.l.observation() }

// Inject applies a fault now through the run's chaos runner: it is numbered
// with the timeline's faults, journalled in chaos.jsonl before it acts,
// published on the bus, held down by the scenario's blast-radius limits,
// reverted with the others at the end, and counted in the summary. The
// runner chooses its victims with the run's seed. Give the action By
// "hand" for a fault a person asked for.
func (h *Handle) Inject(ctx context.Context, a chaos.Action) error {
	r, err := h.l.chaosRunner()
	if err != nil {
		return err
	}
	return r.Inject(ctx, a)
}

// Running counts the instances in zone that a fault there would act on:
// the group's instances the runtime says are running, as the chaos runner
// picks its victims from them.
func (h *Handle) Running(zone string) int {
	n := 0
	for _, v := range (chaosFleet{h.l.fleet}).Running() {
		if v.Zone == zone {
			n++
		}
	}
	return n
}

// runChaos is the run's one chaos runner and its journal (chaos.jsonl).
// It is made on first use: by Run once the tier is ready, or earlier by a
// fault by hand. Run gives it the scenario (its timeline and limits) and
// the seed first; a lab that runs no scenario (`lab up`) gets one with an
// empty timeline and no limits. The lab reverts what is still in effect
// and closes the journal when it closes.
type runChaos struct {
	mu      sync.Mutex
	sc      *scenarios.Scenario
	seed    uint64
	runner  *chaos.Runner
	journal *chaos.FileJournal
	closed  bool
}

// setChaos gives the run's runner its scenario and seed; call it before
// the runner is first used.
func (l *Lab) setChaos(sc *scenarios.Scenario, seed uint64) {
	l.chaos.mu.Lock()
	defer l.chaos.mu.Unlock()
	l.chaos.sc, l.chaos.seed = sc, seed
}

// chaosRunner is the run's chaos runner, made (and its journal opened) on
// first use.
func (l *Lab) chaosRunner() (*chaos.Runner, error) {
	c := &l.chaos
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runner != nil {
		return c.runner, nil
	}
	if c.closed {
		return nil, errors.New("the lab has closed")
	}
	j, err := chaos.OpenFileJournal(filepath.Join(l.Dir, rundir.ChaosFile))
	if err != nil {
		return nil, err
	}
	sc, seed := c.sc, c.seed
	if sc == nil {
		sc, seed = &scenarios.Scenario{}, l.opts.Seed
	}
	c.journal, c.runner = j, l.NewChaosRunner(sc, seed, j)
	return c.runner, nil
}

// closeChaos reverts every fault the run's runner still has in effect and
// closes its journal; called first when the lab closes, while the parts
// the faults act on are still up.
func (l *Lab) closeChaos() error {
	c := &l.chaos
	c.mu.Lock()
	c.closed = true
	r, j := c.runner, c.journal
	c.journal = nil
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	err := r.RevertAll(context.Background(), "the run ended")
	if j != nil {
		err = errors.Join(err, j.Close())
	}
	return err
}
