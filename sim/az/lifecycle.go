package az

import (
	"errors"
	"fmt"
)

// Op is a change asked of an instance, or one that happened to it.
type Op string

const (
	OpLaunch     Op = "launch"      // RunInstances: a new instance is pending
	OpStart      Op = "start"       // StartInstances: a stopped instance is pending again
	OpBooted     Op = "booted"      // the runtime started it: pending, then running
	OpBootFailed Op = "boot-failed" // the runtime could not start it: back to stopped
	OpStop       Op = "stop"        // StopInstances: stopping, then stopped
	OpTerminate  Op = "terminate"   // TerminateInstances: shutting-down, then terminated
	OpKill       Op = "kill"        // a crash; its death comes as OpExit
	OpExit       Op = "exit"        // it died on its own: stopped, and reported on Exited
	OpPause      Op = "pause"       // the gray failure: frozen, though EC2 would say running
	OpResume     Op = "resume"      // thawed: running again
)

// ErrIncorrectInstanceState is wrapped by the error Transition returns for
// an Op the instance's state does not allow, as EC2 answers
// IncorrectInstanceState.
var ErrIncorrectInstanceState = errors.New("IncorrectInstanceState")

// stateError says which state an Op needed; it reads as the runtimes always
// said it ("it is stopped, not running").
type stateError struct{ is, want State }

func (e stateError) Error() string        { return fmt.Sprintf("it is %s, not %s", e.is, e.want) }
func (e stateError) Is(target error) bool { return target == ErrIncorrectInstanceState }

// Transition is the one set of legal state changes every runtime follows,
// EC2's instance lifecycle (pending, running, stopping, stopped,
// shutting-down, terminated) as the lab keeps it: stopping and
// shutting-down last as long as the runtime's stop or terminate call, under
// the instance's operation lock, so no one sees them; paused is the lab's
// own frozen instance, running to EC2.
//
// It returns the state op leads to from from, and act false when there is
// nothing to do (the instance is already there, or a late report finds it
// past the point where it matters). An op the state does not allow is an
// error wrapping ErrIncorrectInstanceState. Kill leaves the state as it is:
// the death it causes comes back as OpExit, which stops the instance.
//
// The choices where the two runtimes once disagreed:
//   - a start that fails (OpBootFailed) leaves a stopped instance stopped,
//     as EC2 does when StartInstances cannot start it;
//   - Kill accepts a pending instance, as EC2 lets TerminateInstances and
//     a failing host end one that is still booting: a crash does not wait
//     for the boot to finish.
func Transition(from State, op Op) (to State, act bool, err error) {
	switch op {
	case OpLaunch:
		if from == "" {
			return StatePending, true, nil
		}
		return from, false, fmt.Errorf("instance exists: %w", stateError{from, "new"})
	case OpTerminate:
		return StateTerminated, from != StateTerminated, nil

	// What the runtime reports never fails: a late report changes nothing.
	case OpBooted:
		if from == StatePending {
			return StateRunning, true, nil
		}
		return from, false, nil
	case OpBootFailed:
		if from == StatePending {
			return StateStopped, true, nil
		}
		return from, false, nil
	case OpExit:
		if from == StatePending || from == StateRunning || from == StatePaused {
			return StateStopped, true, nil
		}
		return from, false, nil
	}

	if from == StateTerminated {
		return from, false, stateError{from, wantOf(op)}
	}
	switch op {
	case OpStart:
		if from == StateStopped {
			return StatePending, true, nil
		}
		return from, false, nil
	case OpStop:
		return StateStopped, from != StateStopped, nil
	case OpKill:
		if from == StateStopped {
			return from, false, stateError{from, StateRunning}
		}
		return from, true, nil
	case OpPause:
		switch from {
		case StatePaused:
			return from, false, nil
		case StateRunning:
			return StatePaused, true, nil
		}
		return from, false, stateError{from, StateRunning}
	case OpResume:
		switch from {
		case StateRunning:
			return from, false, nil
		case StatePaused:
			return StateRunning, true, nil
		}
		return from, false, stateError{from, StatePaused}
	}
	return from, false, fmt.Errorf("unknown op %q", op)
}

// wantOf is the state an op on a terminated instance would have needed,
// for the error.
func wantOf(op Op) State {
	switch op {
	case OpStart:
		return StateStopped
	case OpResume:
		return StatePaused
	}
	return StateRunning
}
