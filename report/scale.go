package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// TimeToScale is the first scale-out episode, step by step, and every
// scale-out decision.
type TimeToScale struct {
	Criterion string        `json:"criterion"`
	Steps     []ScaleStep   `json:"steps"`
	Decisions []DecisionRow `json:"decisions"`
}

// ScaleStep is one step of the first episode.
type ScaleStep struct {
	Step       string   `json:"step"`
	At         string   `json:"at"` // +mm:ss, or "" when it did not happen
	SinceBreak *float64 `json:"since_breach_s,omitempty"`
	SincePrev  *float64 `json:"since_prev_s,omitempty"`
	Detail     string   `json:"detail"`
}

// DecisionRow is one change of desired capacity by a policy (or anyone).
type DecisionRow struct {
	At          string   `json:"at"`
	Change      string   `json:"change"`
	Cause       string   `json:"cause"`
	InServiceAt string   `json:"in_service_at,omitempty"`
	ToInService *float64 `json:"to_in_service_s,omitempty"`
}

// new instance enters service, and p99 comes back.
func (a *analysis) timeToScale() TimeToScale {
	var tts TimeToScale
	var high *alarmLine
	for i := range a.alarms {
		if a.alarms[i].high {
			high = &a.alarms[i]
			break
		}
	}
	calm := a.calmP99()
	threshold := a.p99SLO
	if threshold > 0 {
		tts.Criterion = fmt.Sprintf("latency recovered: the first second after the new instance is InService whose p99 is under the p99 SLO (%s)", fmtMs(threshold))
	} else {
		threshold = 2 * calm
		tts.Criterion = fmt.Sprintf("latency recovered: the first second after the new instance is InService whose p99 is under twice the calm p99 (2 × %s = %s; no p99 SLO)", fmtMs(calm), fmtMs(threshold))
	}
	// Every change of desired capacity, with the next instance in service.
	for _, e := range a.run.Events {
		d, ok := e.Event.(asg.DesiredCapacityChanged)
		if !ok {
			continue
		}
		row := DecisionRow{At: clockAt(a.sec(e.Time)), Change: fmt.Sprintf("%d → %d", d.From, d.To)}
		if d.Policy != "" {
			row.Cause = fmt.Sprintf("policy %s (alarm %s, metric %.1f)", d.Policy, d.Alarm, d.Value)
		} else {
			row.Cause = "set directly"
		}
		if d.To > d.From {
			if ie, ok := a.nextInService(e.Time); ok {
				row.InServiceAt = clockAt(a.sec(ie.Time))
				v := r1(ie.Time.Sub(e.Time).Seconds())
				row.ToInService = &v
			}
		}
		tts.Decisions = append(tts.Decisions, row)
	}

	steps := []string{"first breach", "alarm", "decision", "instance in service", "latency recovered"}
	var times []float64 // AWS seconds since the start, per step reached
	var details []string
	if high == nil {
		details = append(details, "the stack has no CPU scale-out alarm")
	} else {
		breach := -1.0
		for _, s := range a.secs {
			g, ok := groupCPU(s)
			if ok && high.cmp.Compare(g, high.threshold) {
				breach = s.AWS
				details = append(details, fmt.Sprintf("group CPU %.1f%% %s %g (%s)", g, high.cmp.Sign(), high.threshold, s.Phase))
				break
			}
		}
		if breach >= 0 {
			times = append(times, breach)
			var alarmAt time.Time
			for _, e := range a.run.Events {
				if al, ok := e.Event.(cloudwatch.AlarmStateChanged); ok {
					if al.Alarm == high.policy && alarmFired(al) {
						alarmAt = e.Time
						details = append(details, "alarm "+al.Alarm+" → ALARM")
						break
					}
				}
			}
			var decisionAt time.Time
			if !alarmAt.IsZero() {
				times = append(times, a.sec(alarmAt))
				for _, e := range a.run.Events {
					if d, ok := e.Event.(asg.DesiredCapacityChanged); ok && !e.Time.Before(alarmAt) {
						if d.To > d.From {
							decisionAt = e.Time
							details = append(details, fmt.Sprintf("desired %d → %d by %s", d.From, d.To, orDash(d.Policy)))
							break
						}
					}
				}
			}
			var inAt time.Time
			if !decisionAt.IsZero() {
				times = append(times, a.sec(decisionAt))
				if ie, ok := a.nextInService(decisionAt); ok {
					inAt = ie.Time
					l := ie.Event.(asg.LifecycleChanged)
					details = append(details, fmt.Sprintf("%s (%s) InService", l.Instance, l.Zone))
				}
			}
			if !inAt.IsZero() {
				times = append(times, a.sec(inAt))
				for _, s := range a.secs {
					if s.AWS > a.sec(inAt) && s.Sent > 0 && s.P99 < threshold {
						times = append(times, s.AWS)
						details = append(details, fmt.Sprintf("p99 %s < %s", fmtMs(s.P99), fmtMs(threshold)))
						break
					}
				}
			}
		} else {
			details = append(details, fmt.Sprintf("the group's CPU never went %s %g%%", high.cmp.Sign(), high.threshold))
		}
	}
	for i, name := range steps {
		st := ScaleStep{Step: name}
		if i < len(times) {
			st.At = clockAt(times[i])
			d := r1(times[i] - times[0])
			st.SinceBreak = &d
			if i > 0 {
				p := r1(times[i] - times[i-1])
				st.SincePrev = &p
			}
		}
		if i < len(details) {
			st.Detail = details[i]
		}
		tts.Steps = append(tts.Steps, st)
	}
	return tts
}

func (a *analysis) nextInService(after time.Time) (Event, bool) {
	for _, e := range a.run.Events {
		if _, ok := inService(e); ok && e.Time.After(after) {
			return e, true
		}
	}
	return Event{}, false
}

// calmP99 is the median per-second p99 of the first phase: the upper
// median v[n/2] (for an even count, not the nearest-rank median of
// internal/quantile); the golden report pins it.
func (a *analysis) calmP99() float64 {
	if len(a.secs) == 0 {
		return 0
	}
	var v []float64
	for _, s := range a.secs {
		if s.Phase != a.secs[0].Phase {
			break
		}
		if s.Sent > 0 {
			v = append(v, s.P99)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func groupCPU(s Second) (float64, bool) {
	if s.GroupCPU != nil {
		return *s.GroupCPU, true
	}
	return 0, false
}
