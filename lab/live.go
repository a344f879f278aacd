package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// liveView follows the load second by second: it announces phases, prints a
// stats line every few seconds, and checks the stop conditions.
type liveView struct {
	l      *Lab
	sc     *scenarios.Scenario
	every  int // seconds between stats lines
	stop   context.CancelFunc
	ends   []int // wall second at which each phase ends
	window []load.Second

	timeline *json.Encoder // seconds.jsonl: one SecondRecord per wall second
	onSecond func(SecondRecord)
	host     *hostSampler // the host's contention, for the stats line

	holding map[int]time.Time // AWS time each stop condition began to hold

	mu      sync.Mutex
	phase   int
	stopped string // why a stop condition ended the run
	// the stop condition that ended the run and the seconds it was last
	// judged on, for the host's verdict
	stopCond   scenarios.SLO
	stopWindow []load.Second
}

func (v *liveView) record(s load.Second) {
	if v.timeline == nil && v.onSecond == nil {
		return
	}
	l := v.l
	r := SecondRecord{Second: s.Index, AWS: l.Clock.Now().Sub(l.started).Seconds(), Phase: v.sc.Load.Phases[v.phase].Name,
		Offered: s.Offered, Sent: s.Sent, OK: s.OK2xx, Err4xx: s.Err4xx, Err5xx: s.Err5xx, Transport: s.Transport,
		P50: ms(s.P50), P95: ms(s.P95), P99: ms(s.P99), Max: ms(s.Max), Lag: ms(s.MaxLag),
		InService: l.inService(), Desired: l.desired(), CPU: l.zoneCPU()}
	if c, ok := l.groupCPU(); ok {
		r.GroupCPU = &c
	}
	r.Users = s.Users // virtual users, when the phases count them
	if v.timeline != nil {
		v.timeline.Encode(r)
	}
	if v.onSecond != nil {
		v.onSecond(r)
	}
}

func newLiveView(l *Lab, sc *scenarios.Scenario, every time.Duration, stop context.CancelFunc) *liveView {
	v := &liveView{l: l, sc: sc, every: max(1, int(every/time.Second)), stop: stop, phase: -1}
	var acc time.Duration
	for _, p := range sc.Load.Phases {
		acc += l.Clock.Wall(p.Duration)
		v.ends = append(v.ends, int(acc/time.Second))
	}
	return v
}

// second is load.Config.OnSecond: it runs on the load generator's reader
// goroutine and must stay quick.
func (v *liveView) second(s load.Second) {
	v.announcePhase(s.Index)
	v.record(s)
	v.window = append(v.window, s)
	if len(v.window) > 10 {
		v.window = v.window[1:]
	}
	if s.Index%v.every == v.every-1 {
		v.statsLine(s)
	}
	v.checkStop()
}

func (v *liveView) announcePhase(sec int) {
	p := 0
	for p < len(v.ends)-1 && sec >= v.ends[p] {
		p++
	}
	if p == v.phase {
		return
	}
	v.phase = p
	ph := v.sc.Load.Phases[p]
	rate := fmt.Sprintf("%g requests/s", ph.From)
	if ph.From != ph.To {
		rate = fmt.Sprintf("%g to %g requests/s", ph.From, ph.To)
	}
	if ph.Users {
		rate = usersNote(ph)
	}
	v.l.Bus.Publish(PhaseChanged{Phase: ph.Name, Note: fmt.Sprintf("%s for %s (AWS time)", rate, ph.Duration)})
}

func (v *liveView) statsLine(s load.Second) {
	l := v.l
	in := l.inService()
	total := 0
	for _, n := range in {
		total += n
	}
	cpu := "-"
	if val, ok := l.groupCPU(); ok {
		cpu = fmt.Sprintf("%.0f%%", val)
	}
	ok := 100.0
	if s.Sent > 0 {
		ok = 100 * float64(s.Sent-s.Err5xx-s.Transport) / float64(s.Sent)
	}
	users := ""
	if s.Users > 0 {
		users = fmt.Sprintf(" by %d users", s.Users)
	}
	l.printf("%s  stats: offered %.0f/s%s sent %d/s ok %.1f%% p99 %s | in service %d (%s) desired %d | CPU %s%s",
		awsElapsed(l.Clock.Now().Sub(l.started)), s.Offered, users, s.Sent, ok, s.P99.Round(time.Millisecond),
		total, describeZones(l.opts.Stack.Zones, in), l.desired(), cpu, v.host.statsText())
}

// zoneCPU is each zone's mean CPUUtilization over its in-service
// instances' samples of the last AWS minute.
func (l *Lab) zoneCPU() map[string]float64 {
	now := l.Clock.Now()
	sum, n := map[string]float64{}, map[string]int{}
	for _, in := range l.allInstances() {
		st, ok := l.Metrics.Datapoint(cloudwatch.Query{Namespace: cloudwatch.NamespaceEC2, MetricName: cloudwatch.MetricCPUUtilization,
			Dimensions: cloudwatch.Dims(cloudwatch.DimInstanceID, string(in.ID)), Period: time.Minute, Statistic: "Average"}, now.Add(-time.Minute))
		if ok {
			sum[in.Zone] += st.Average
			n[in.Zone]++
		}
	}
	out := map[string]float64{}
	for z, s := range sum {
		out[z] = s / float64(n[z])
	}
	return out
}

// groupCPU is the group's CPUUtilization average over the last minute of
// samples (warming instances excluded), as the alarm sees it.
func (l *Lab) groupCPU() (float64, bool) {
	if l.opts.Stack.MultiService() {
		return l.servicesCPU() // the services' groups' mean (services.go)
	}
	return l.groupCPUOf(l.opts.Stack.Name)
}

// groupCPUOf is group name's CPUUtilization over the last AWS minute.
func (l *Lab) groupCPUOf(name string) (float64, bool) {
	now := l.Clock.Now()
	st, ok := l.Metrics.Datapoint(cloudwatch.Query{Namespace: cloudwatch.NamespaceEC2, MetricName: cloudwatch.MetricCPUUtilization,
		Dimensions: cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, name), Period: time.Minute, Statistic: "Average"},
		now.Add(-time.Minute))
	if !ok {
		return 0, false
	}
	return st.Average, true
}

// checkStop ends the run early when a stop condition holds over the last
// ten seconds, and, for one with a window (for 1m), has held without a
// break for that long in AWS time.
func (v *liveView) checkStop() {
	if len(v.sc.StopConditions) == 0 || len(v.window) < 10 {
		return
	}
	obs := windowObservations(v.window)
	now := v.l.Clock.Now()
	for i, c := range v.sc.StopConditions {
		val, ok := obs[c.Metric]
		hold := false
		if ok {
			hold, _ = c.Check(val)
		}
		if !hold {
			delete(v.holding, i)
			continue
		}
		since, seen := v.holding[i]
		if !seen {
			if v.holding == nil {
				v.holding = map[int]time.Time{}
			}
			v.holding[i], since = now, now
		}
		if c.For > 0 && now.Sub(since) < c.For {
			continue
		}
		v.mu.Lock()
		if v.stopped == "" {
			v.stopCond, v.stopWindow = c, append([]load.Second(nil), v.window...)
			if c.For > 0 {
				v.stopped = fmt.Sprintf("stop condition %q held for %s of AWS time (observed %s over the last 10 s)", c.Expr, c.For, c.Format(val))
			} else {
				v.stopped = fmt.Sprintf("stop condition %q held over the last 10 s (observed %s)", c.Expr, c.Format(val))
			}
			v.l.Bus.Publish(StopConditionHeld{Condition: c.Expr, Reason: v.stopped})
		}
		v.mu.Unlock()
		v.stop()
		return
	}
}

// stopHoldsUnstarved says whether the stop condition that ended the run
// still holds over the seconds of its last window the host did not starve
// (then the stack failed whatever the host did), and whether any of them
// was starved. With fewer than half the window's seconds left, it cannot
// say, and does not hold.
func (v *liveView) stopHoldsUnstarved(starved []int) (holds, anyStarved bool) {
	var kept []load.Second
	for _, s := range v.stopWindow {
		if slices.Contains(starved, s.Index) {
			anyStarved = true
			continue
		}
		kept = append(kept, s)
	}
	if 2*len(kept) < len(v.stopWindow) {
		return false, anyStarved
	}
	val, ok := windowObservations(kept)[v.stopCond.Metric]
	if !ok {
		return false, anyStarved
	}
	holds, _ = v.stopCond.Check(val)
	return holds, anyStarved
}

// windowObservations are the SLO metrics over a few seconds of load.
func windowObservations(ss []load.Second) map[string]float64 {
	var sent, bad int
	var p99 time.Duration
	for _, s := range ss {
		sent += s.Sent
		bad += s.Err5xx + s.Transport
		p99 = max(p99, s.P99)
	}
	out := map[string]float64{"requests": float64(sent), "p99": ms(p99)}
	if sent > 0 {
		out["success_rate"] = 100 * float64(sent-bad) / float64(sent)
		out["error_rate"] = 100 * float64(bad) / float64(sent)
	}
	return out
}

// judgeSLOs checks every SLO against the run's figures.
func judgeSLOs(s *Summary, slos []scenarios.SLO) {
	obs := map[string]float64{
		"success_rate":         s.SuccessRate,
		"error_rate":           100 - s.SuccessRate,
		"p50":                  s.Latency.P50,
		"p95":                  s.Latency.P95,
		"p99":                  s.Latency.P99,
		"max_latency":          s.Latency.Max,
		"max_in_service":       float64(s.InService.Max),
		"min_in_service":       float64(s.InService.Min),
		"lost_writes":          float64(s.LostWrites),
		"lost_session_state":   lostSessionState(s),
		"stale_reads":          float64(s.StaleReads),
		"db_error_window":      1000 * s.DBErrorWindowSeconds, // ms, as latencies
		"requests":             float64(s.Requests),
		"scale_out_activities": float64(s.ScalingActivities.ScaleOuts),
		"scale_in_activities":  float64(s.ScalingActivities.ScaleIns),
	}
	for _, slo := range slos {
		v := obs[slo.Metric]
		pass, margin := slo.Check(v)
		s.SLOs = append(s.SLOs, SLOResult{Expr: slo.Expr, Observed: v, Shown: slo.Format(v), Pass: pass, Margin: margin, MarginShown: slo.FormatMargin(margin)})
	}
}

// StopConditionHeld is published when a stop condition ends the run: the
// load stops and every fault is reverted.
type StopConditionHeld struct {
	Condition string `json:"condition"`
	Reason    string `json:"reason"`
}

func (StopConditionHeld) Kind() string { return "lab" }
func (e StopConditionHeld) Message() string {
	return "Stopping the run: " + e.Reason + "; every fault is reverted"
}

// usersNote says what a users phase offers: virtual users and their think
// time, not a rate.
func usersNote(ph scenarios.Phase) string {
	n := fmt.Sprintf("%g virtual users", ph.From)
	if ph.From != ph.To {
		n = fmt.Sprintf("%g to %g virtual users", ph.From, ph.To)
	}
	return fmt.Sprintf("%s thinking about %s between requests", n, ph.ThinkTime)
}

// lostSessionState is the summary's lost_session_state: 0 when the mix
// sent no cart requests.
func lostSessionState(s *Summary) float64 {
	if s.Sessions == nil {
		return 0
	}
	return float64(s.Sessions.Lost)
}
