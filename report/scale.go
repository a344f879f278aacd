package report

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/alb"
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

// timeToScale is the first scale-out episode from the breach to the new
// instance serving (episode), and every change of desired capacity with the
// next instance in service.
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

	tts.Steps = a.episode(high, threshold)
	return tts
}

// The steps of the first scale-out, in order (AWS seconds from the breach).
var episodeSteps = []string{"first breach", "alarm", "decision", "launch", "running", "InService",
	"first healthy check", "serving", "latency recovered"}

// episode follows the first scale-out from the breach to the new instance
// serving, step by step: the alarm's change to ALARM, the change of desired
// capacity, the group's Launch activity (RunInstances), EC2 having it
// running (after its pending time), InService (registered, launch hooks
// done), its first passing health check on a node, the first request it
// answered (access.log), and the first second whose p99 recovered. A step
// that did not happen stays empty and ends the chain, except the last two,
// which are looked for from InService on.
func (a *analysis) episode(high *alarmLine, threshold float64) []ScaleStep {
	at := make([]*float64, len(episodeSteps))
	details := make([]string, len(episodeSteps))
	set := func(i int, t float64, detail string) { at[i], details[i] = &t, detail }
	found := func(i int, tm time.Time, detail string) { set(i, a.sec(tm), detail) }
	func() {
		if high == nil {
			details[0] = "the stack has no CPU scale-out alarm"
			return
		}
		breach := -1.0
		for _, s := range a.secs {
			if g, ok := groupCPU(s); ok && high.cmp.Compare(g, high.threshold) {
				breach = s.AWS
				set(0, s.AWS, fmt.Sprintf("group CPU %.1f%% %s %g (%s)", g, high.cmp.Sign(), high.threshold, s.Phase))
				break
			}
		}
		if breach < 0 {
			details[0] = fmt.Sprintf("the group's CPU never went %s %g%%", high.cmp.Sign(), high.threshold)
			return
		}
		var alarmAt time.Time
		for _, e := range a.run.Events {
			if al, ok := e.Event.(cloudwatch.AlarmStateChanged); ok && al.Alarm == high.policy && alarmFired(al) {
				alarmAt = e.Time
				found(1, e.Time, "alarm "+al.Alarm+" → ALARM")
				break
			}
		}
		if alarmAt.IsZero() {
			return
		}
		var decisionAt time.Time
		for _, e := range a.run.Events {
			if d, ok := e.Event.(asg.DesiredCapacityChanged); ok && !e.Time.Before(alarmAt) && d.To > d.From {
				decisionAt = e.Time
				found(2, e.Time, fmt.Sprintf("desired %d → %d by %s", d.From, d.To, orDash(d.Policy)))
				break
			}
		}
		if decisionAt.IsZero() {
			return
		}
		id, launchAt := "", time.Time{}
		for _, e := range a.run.Events {
			if l, ok := e.Event.(asg.ScalingActivity); ok && l.Action == "Launch" && l.Status == "" && !e.Time.Before(decisionAt) {
				id, launchAt = l.Instance, e.Time
				found(3, e.Time, fmt.Sprintf("%s launched in %s (RunInstances: pending)", l.Instance, l.Zone))
				break
			}
		}
		if id == "" {
			return
		}
		for _, e := range a.run.Events {
			if r, ok := e.Event.(asg.InstanceRunning); ok && r.Instance == id {
				found(4, e.Time, fmt.Sprintf("EC2: running after %.0f s pending", r.Pending))
				break
			}
		}
		var inAt time.Time
		for _, e := range a.run.Events {
			if l, ok := inService(e); ok && l.Instance == id && e.Time.After(launchAt) {
				inAt = e.Time
				found(5, e.Time, fmt.Sprintf("%s (%s) InService, registered with the target group", l.Instance, l.Zone))
				break
			}
		}
		if inAt.IsZero() {
			return
		}
		addr, healthyAt := "", time.Time{}
		for _, e := range a.run.Events {
			if h, ok := e.Event.(alb.TargetHealthChanged); ok && h.Target == id && h.To == alb.StateHealthy {
				addr, healthyAt = h.Addr, e.Time
				found(6, e.Time, fmt.Sprintf("healthy on the %s node", h.Node))
				break
			}
		}
		if healthyAt.IsZero() {
			details[6] = "no node saw " + id + " healthy before the run ended"
		} else {
			if t, ok := a.firstServed(addr, healthyAt); ok {
				found(7, t, fmt.Sprintf("first request answered by %s (access.log)", addr))
			} else {
				details[7] = "no request to " + orDash(addr) + " in access.log"
			}
		}
		for _, s := range a.secs {
			if s.AWS > a.sec(inAt) && s.Sent > 0 && s.P99 < threshold {
				set(8, s.AWS, fmt.Sprintf("p99 %s < %s", fmtMs(s.P99), fmtMs(threshold)))
				break
			}
		}
	}()
	var steps []ScaleStep
	var prev *float64
	for i, name := range episodeSteps {
		st := ScaleStep{Step: name, Detail: details[i]}
		if t := at[i]; t != nil && at[0] != nil {
			st.At = clockAt(*t)
			d := r1(*t - *at[0])
			st.SinceBreak = &d
			if prev != nil {
				p := r1(*t - *prev)
				st.SincePrev = &p
			}
			prev = t
		}
		steps = append(steps, st)
	}
	return steps
}

// firstServed is the end time of the first request the target at addr
// answered after from, from the run's access.log (AWS time).
func (a *analysis) firstServed(addr string, from time.Time) (time.Time, bool) {
	if addr == "" || a.run.Dir == "" {
		return time.Time{}, false
	}
	f, err := os.Open(filepath.Join(a.run.Dir, rundir.AccessLogFile))
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// type time elb client:port target:port ...
		fields := strings.SplitN(sc.Text(), " ", 6)
		if len(fields) < 6 || fields[4] != addr {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, fields[1])
		if err == nil && !t.Before(from) {
			return t, true
		}
	}
	return time.Time{}, false
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
