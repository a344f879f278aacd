package chaos

import (
	"context"
	"testing"
)

// stuckPauser is a runtime whose pause fails.
type stuckPauser struct{ *pausingFleet }

func (stuckPauser) Pause(context.Context, string) error { return errRefused }

func TestPauseInstanceFault(t *testing.T) {
	checkFaults(t, []faultCase{
		{name: "frozen, seen, resumed",
			make: func() (fault, *fakeFleet) {
				p := newPausingFleet()
				return &pauseInstance{pauser: p, id: "i-b1"}, p.fakeFleet
			},
			holding: []string{"i-b1"},
			log:     []string{"pause i-b1", "resume i-b1"}},
		{name: "the runtime does not report it paused: resumed",
			make: func() (fault, *fakeFleet) {
				p := newPausingFleet()
				p.lie = true
				return &pauseInstance{pauser: p, id: "i-b1"}, p.fakeFleet
			},
			holding: []string{"i-b1"}, verify: "pause i-b1: the runtime does not report it paused (<nil>)",
			log: []string{"pause i-b1", "resume i-b1"}},
		{name: "the pause fails: it may have acted, so it is resumed",
			make: func() (fault, *fakeFleet) {
				p := newPausingFleet()
				return &pauseInstance{pauser: stuckPauser{p}, id: "i-b1"}, p.fakeFleet
			},
			apply: "pause i-b1: refused", acted: true, holding: []string{"i-b1"}, undo: "i-b1 is not paused",
			log: []string{"resume i-b1"}},
	})
}
