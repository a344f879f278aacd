package report

import (
	"fmt"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// Marker kinds.
const (
	MarkScaleOut  = "scale-out"
	MarkScaleIn   = "scale-in"
	MarkLaunch    = "launch"
	MarkTerminate = "terminate"
	MarkFault     = "fault"
	MarkRevert    = "revert"
	MarkAlarm     = "alarm"
	MarkAlarmOK   = "alarm-ok"
	MarkDatabase  = DatabaseKind // an RDS event: a failover's steps
)

// Marker is an event drawn as a vertical line on every chart.
type Marker struct {
	At    float64 `json:"at"` // AWS minutes
	Kind  string  `json:"kind"`
	Label string  `json:"label"`
	Run   string  `json:"run,omitempty"` // "A" or "B" in a comparison
}

// Colours and glyphs of the markers.
var (
	markColors = map[string]string{
		MarkScaleOut: "#2ca02c", MarkScaleIn: "#17becf", MarkLaunch: "#7fbf7f", MarkTerminate: "#8c564b",
		MarkFault: "#d62728", MarkRevert: "#ff9896", MarkAlarm: "#ff7f0e", MarkAlarmOK: "#bcbd22",
		MarkDatabase: "#6a3d9a",
	}
	markGlyphs = map[string]string{
		MarkScaleOut: "▲", MarkScaleIn: "▼", MarkLaunch: "+", MarkTerminate: "×",
		MarkFault: "⚡", MarkRevert: "↺", MarkAlarm: "!", MarkAlarmOK: "✓",
		MarkDatabase: "◆",
	}
	markOrder = []string{MarkScaleOut, MarkScaleIn, MarkLaunch, MarkTerminate, MarkFault, MarkRevert, MarkAlarm, MarkAlarmOK, MarkDatabase}
)

func (a *analysis) buildMarkers(run string) []Marker {
	var out []Marker
	add := func(e Event, kind, label string) {
		out = append(out, Marker{At: a.min(e.Time), Kind: kind, Label: label, Run: run})
	}
	for _, e := range a.run.Events {
		switch d := e.Event.(type) {
		case asg.DesiredCapacityChanged:
			who := d.Policy
			if who == "" {
				who = "set"
			}
			switch {
			case d.To > d.From:
				add(e, MarkScaleOut, fmt.Sprintf("desired %d→%d (%s)", d.From, d.To, who))
			case d.To < d.From:
				add(e, MarkScaleIn, fmt.Sprintf("desired %d→%d (%s)", d.From, d.To, who))
			}
		case asg.ScalingActivity:
			if d.Action == "Launch" {
				add(e, MarkLaunch, "launch "+d.Instance+" ("+d.Zone+")")
			} else {
				add(e, MarkTerminate, "terminate "+d.Instance+" ("+d.Zone+")")
			}
		case chaos.FaultInjected:
			add(e, MarkFault, fmt.Sprintf("chaos #%d %s %s", d.N, d.Action, d.Instance))
		case chaos.FaultReverted:
			add(e, MarkRevert, fmt.Sprintf("revert #%d %s", d.N, d.Action))
		case cloudwatch.AlarmStateChanged:
			if alarmFired(d) {
				add(e, MarkAlarm, "alarm "+d.Alarm+" → ALARM")
			} else if alarmCleared(d) {
				add(e, MarkAlarmOK, "alarm "+d.Alarm+" → "+string(d.To))
			}
		default:
			if e.Kind == DatabaseKind {
				add(e, MarkDatabase, e.Message())
			}
		}
	}
	return out
}
