package report

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
			text = e.Message
		}
		out = append(out, TimelineRow{At: clockAt(a.sec(e.Time)), Kind: kind, Text: text})
	}
	for _, e := range a.run.Events {
		switch e.Type {
		case "RunStarted":
			add(e, "run", "Run started")
		case "RunStopped":
			add(e, "run", "Run stopped; every instance terminated")
		case "PhaseChanged":
			add(e, "phase", "")
		case "FaultInjected":
			add(e, MarkFault, "")
		case "FaultReverted":
			add(e, MarkRevert, "")
		case "FaultNotApplied":
			add(e, MarkFault, "")
		case "AlarmStateChanged":
			al := decode[evAlarm](e)
			if al.To == "ALARM" {
				add(e, MarkAlarm, "")
			} else if al.From == "ALARM" {
				add(e, MarkAlarmOK, "")
			}
		case "DesiredCapacityChanged":
			d := decode[evDesired](e)
			k := MarkScaleOut
			if d.To < d.From {
				k = MarkScaleIn
			}
			add(e, k, "")
		case "ScalingActivity":
			s := decode[evScaling](e)
			k := MarkLaunch
			if s.Action != "Launch" {
				k = MarkTerminate
			}
			add(e, k, "")
		case "LifecycleChanged":
			l := decode[evLifecycle](e)
			if l.To == "InService" {
				add(e, "in-service", "")
			}
		}
	}
	return out
}

// downsampled is the seconds merged into at most maxPoints buckets: counts
