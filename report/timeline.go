package report

import (
	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// TimelineRow is one event of the timeline.
type TimelineRow struct {
	At   string `json:"at"` // +mm:ss AWS since the run started
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// timeline is the events a person reads: phases, faults, alarms, scaling.
func (a *analysis) timeline() []TimelineRow {
	var out []TimelineRow
	add := func(e Event, kind, text string) {
		if text == "" {
			text = e.Message()
		}
		out = append(out, TimelineRow{At: clockAt(a.sec(e.Time)), Kind: kind, Text: text})
	}
	for _, e := range a.run.Events {
		switch ev := e.Event.(type) {
		case rundir.RunStarted:
			add(e, "run", "Run started")
		case rundir.RunStopped:
			add(e, "run", "Run stopped; every instance terminated")
		case rundir.PhaseChanged:
			add(e, "phase", "")
		case chaos.FaultInjected:
			add(e, MarkFault, "")
		case chaos.FaultReverted:
			add(e, MarkRevert, "")
		case chaos.FaultNotApplied:
			add(e, MarkFault, "")
		case cloudwatch.AlarmStateChanged:
			if alarmFired(ev) {
				add(e, MarkAlarm, "")
			} else if alarmCleared(ev) {
				add(e, MarkAlarmOK, "")
			}
		case asg.DesiredCapacityChanged:
			k := MarkScaleOut
			if ev.To < ev.From {
				k = MarkScaleIn
			}
			add(e, k, "")
		case asg.ScalingActivity:
			k := MarkLaunch
			if ev.Action != "Launch" {
				k = MarkTerminate
			}
			add(e, k, "")
		case asg.LifecycleChanged:
			if ev.To == "InService" {
				add(e, "in-service", "")
			}
		default:
			if e.Kind == DatabaseKind { // RDS events and failover steps (sim/rds)
				add(e, MarkDatabase, "")
			}
		}
	}
	return out
}

// downsampled is the seconds merged into at most maxPoints buckets: counts
