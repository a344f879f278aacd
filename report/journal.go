package report

import (
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// Event is one line of events.jsonl, decoded by package events into the
// event's real type (asg.DesiredCapacityChanged, chaos.FaultInjected, ...);
// Message() is the line's message as journalled. The packages whose events
// the report reads register them when imported.
type Event = events.Envelope

// inService says whether e is an instance entering service.
func inService(e Event) (asg.LifecycleChanged, bool) {
	l, ok := e.Event.(asg.LifecycleChanged)
	return l, ok && l.To == "InService"
}

// alarmFired and alarmCleared are an alarm entering and leaving ALARM.
func alarmFired(al cloudwatch.AlarmStateChanged) bool   { return al.To == cloudwatch.StateAlarm }
func alarmCleared(al cloudwatch.AlarmStateChanged) bool { return al.From == cloudwatch.StateAlarm }

// isRun says whether e is the run starting (or stopping).
func isRunStarted(e Event) bool { _, ok := e.Event.(rundir.RunStarted); return ok }
func isRunStopped(e Event) bool { _, ok := e.Event.(rundir.RunStopped); return ok }
