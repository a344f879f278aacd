package az

import (
	"errors"
	"testing"
)

// EC2's instance lifecycle, as "State change events for Amazon EC2
// instances" words it: "When you launch or start an instance, it enters the
// pending state and then the running state. When you stop an instance, it
// enters the stopping state and then the stopped state. When you terminate
// an instance, it enters the shutting-down state and then the terminated
// state." The lab's stopping and shutting-down last as long as the
// runtime's call and are not shown; paused is running to EC2.
func TestTransition(t *testing.T) {
	const (
		none = State("")
		pend = StatePending
		run  = StateRunning
		stop = StateStopped
		paus = StatePaused
		term = StateTerminated
	)
	type want struct {
		to  State
		act bool
		bad bool // IncorrectInstanceState
	}
	for _, c := range []struct {
		from State
		op   Op
		want want
	}{
		// launch: a new instance is pending
		{none, OpLaunch, want{pend, true, false}},
		{run, OpLaunch, want{run, false, true}},
		// pending, then running; a start that fails leaves it stopped
		{pend, OpBooted, want{run, true, false}},
		{pend, OpBootFailed, want{stop, true, false}},
		{stop, OpBooted, want{stop, false, false}},     // it died while booting: the death stands
		{stop, OpBootFailed, want{stop, false, false}}, // already stopped
		// start: only a stopped instance boots again
		{stop, OpStart, want{pend, true, false}},
		{run, OpStart, want{run, false, false}},
		{paus, OpStart, want{paus, false, false}},
		{pend, OpStart, want{pend, false, false}},
		{term, OpStart, want{term, false, true}},
		// stop: stopping, then stopped; stopping a stopped one does nothing
		{run, OpStop, want{stop, true, false}},
		{paus, OpStop, want{stop, true, false}},
		{pend, OpStop, want{stop, true, false}},
		{stop, OpStop, want{stop, false, false}},
		{term, OpStop, want{term, false, true}},
		// terminate: shutting-down, then terminated, from any state
		{pend, OpTerminate, want{term, true, false}},
		{run, OpTerminate, want{term, true, false}},
		{paus, OpTerminate, want{term, true, false}},
		{stop, OpTerminate, want{term, true, false}},
		{term, OpTerminate, want{term, false, false}},
		// kill: a crash hits a booting, running or frozen instance; the
		// state changes when its death is seen (OpExit)
		{pend, OpKill, want{pend, true, false}},
		{run, OpKill, want{run, true, false}},
		{paus, OpKill, want{paus, true, false}},
		{stop, OpKill, want{stop, false, true}},
		{term, OpKill, want{term, false, true}},
		// a death on its own stops the instance; a late report changes nothing
		{pend, OpExit, want{stop, true, false}},
		{run, OpExit, want{stop, true, false}},
		{paus, OpExit, want{stop, true, false}},
		{stop, OpExit, want{stop, false, false}},
		{term, OpExit, want{term, false, false}},
		{term, OpBooted, want{term, false, false}},
		// pause and resume: the gray failure
		{run, OpPause, want{paus, true, false}},
		{paus, OpPause, want{paus, false, false}},
		{stop, OpPause, want{stop, false, true}},
		{pend, OpPause, want{pend, false, true}},
		{paus, OpResume, want{run, true, false}},
		{run, OpResume, want{run, false, false}},
		{stop, OpResume, want{stop, false, true}},
		{pend, OpResume, want{pend, false, true}},
	} {
		to, act, err := Transition(c.from, c.op)
		got := want{to, act, err != nil}
		if got != c.want {
			t.Errorf("Transition(%q, %s) = %v, %v, %v; want %+v", c.from, c.op, to, act, err, c.want)
		}
		if err != nil && !errors.Is(err, ErrIncorrectInstanceState) {
			t.Errorf("Transition(%q, %s) error %v is not IncorrectInstanceState", c.from, c.op, err)
		}
	}
}

// The errors read as the runtimes have always said them.
func TestTransitionErrorWords(t *testing.T) {
	for _, c := range []struct {
		from State
		op   Op
		want string
	}{
		{StateStopped, OpKill, "it is stopped, not running"},
		{StateStopped, OpPause, "it is stopped, not running"},
		{StatePending, OpResume, "it is pending, not paused"},
		{StateTerminated, OpStart, "it is terminated, not stopped"},
	} {
		if _, _, err := Transition(c.from, c.op); err == nil || err.Error() != c.want {
			t.Errorf("Transition(%s, %s) = %v; want %q", c.from, c.op, err, c.want)
		}
	}
}
