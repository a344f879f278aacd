package report

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/scenarios"
)

// Report is everything report.html shows, computed from a run directory. The
// template only formats it; the golden test marshals it to JSON.
type Report struct {
	Title    string   `json:"title"`
	Run      RunInfo  `json:"run"`
	SLOs     []SLORow `json:"slos"`
	Validity Validity `json:"validity"`
	Totals   Totals   `json:"totals"`

	XMax     float64       `json:"x_max_min"` // the charts' x axis ends here (AWS minutes since the run started)
	Phases   []Span        `json:"phases"`
	Markers  []Marker      `json:"markers"`
	Timeline []TimelineRow `json:"timeline"`
	Charts   []Chart       `json:"charts"`

	TimeToScale TimeToScale `json:"time_to_scale"`
	PhaseRows   []PhaseRow  `json:"phase_rows"`
	ZoneRows    []ZoneRow   `json:"zone_rows"`
	Histogram   Histogram   `json:"histogram"`
	Cost        Cost        `json:"cost"`

	StackYAML    string `json:"stack_yaml"`
	ScenarioYAML string `json:"scenario_yaml"`
}

// RunInfo says what ran.
type RunInfo struct {
	RunID       string  `json:"run_id"`
	Scenario    string  `json:"scenario"`
	Stack       string  `json:"stack"`
	Seed        uint64  `json:"seed"`
	Speed       float64 `json:"speed"`
	Driver      string  `json:"driver"`
	WallSeconds float64 `json:"wall_seconds"`
	AWSSeconds  float64 `json:"aws_seconds"`
	AWSStart    string  `json:"aws_start,omitempty"` // AWS time the run started, RFC 3339
	Verdict     string  `json:"verdict"`
	Reason      string  `json:"reason,omitempty"`
}

// SLORow is one SLO as judged.
type SLORow struct {
	Expr     string `json:"expr"`
	Observed string `json:"observed"`
	Pass     bool   `json:"pass"`
	Margin   string `json:"margin"`
}

// Validity says whether the load generator held its schedule.
type Validity struct {
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	AchievedPct float64 `json:"achieved_pct"`
	LagP99Ms    float64 `json:"lag_p99_ms"`
	Invalid     bool    `json:"invalid"`
	Note        string  `json:"note"`
}

// Totals are the whole run's figures from summary.json.
type Totals struct {
	Requests     int     `json:"requests"`
	SuccessRate  float64 `json:"success_rate"`
	P50          float64 `json:"p50"`
	P95          float64 `json:"p95"`
	P99          float64 `json:"p99"`
	Max          float64 `json:"max"`
	Errors       []KV    `json:"errors"`
	InServiceMin int     `json:"in_service_min"`
	InServiceMax int     `json:"in_service_max"`
	Launches     int     `json:"launches"`
	Terminations int     `json:"terminations"`
	ScaleOuts    int     `json:"scale_outs"`
	ScaleIns     int     `json:"scale_ins"`
	Replacements int     `json:"replacements"`
	Faults       int     `json:"faults_injected"`
	Reverted     int     `json:"faults_reverted"`
	AckWrites    int     `json:"acknowledged_writes"`
	LostWrites   int     `json:"lost_writes"`
}

// KV is a labelled count.
type KV struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// Span is a phase over AWS minutes.
type Span struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

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
)

// Marker is an event drawn as a vertical line on every chart.
type Marker struct {
	At    float64 `json:"at"` // AWS minutes
	Kind  string  `json:"kind"`
	Label string  `json:"label"`
	Run   string  `json:"run,omitempty"` // "A" or "B" in a comparison
}

// TimelineRow is one event of the timeline.
type TimelineRow struct {
	At   string `json:"at"` // +mm:ss AWS since the run started
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Pt is a point: AWS minutes, value.
type Pt [2]float64

// Series is one line (or stacked area) of a chart.
type Series struct {
	Name  string `json:"name"`
	Color string `json:"color"`
	Dash  bool   `json:"dash,omitempty"`
	Area  bool   `json:"area,omitempty"` // stacked on the areas before it
	Step  bool   `json:"step,omitempty"`
	Wide  bool   `json:"wide,omitempty"`
	Pts   []Pt   `json:"pts"`
}

// HLine is a horizontal reference line (a threshold or an SLO).
type HLine struct {
	Y     float64 `json:"y"`
	Label string  `json:"label"`
	Color string  `json:"color"`
}

// Chart is one time chart over AWS minutes.
type Chart struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	YLabel string   `json:"y_label"`
	LogY   bool     `json:"log_y,omitempty"`
	YTop   float64  `json:"y_top,omitempty"` // the y axis ends here when the data fit under it
	Note   string   `json:"note,omitempty"`
	Series []Series `json:"series"`
	HLines []HLine  `json:"hlines,omitempty"`
}

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

// PhaseRow is one phase of the load.
type PhaseRow struct {
	Name        string  `json:"name"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	WallSeconds int     `json:"wall_seconds"`
	OfferedRPS  float64 `json:"offered_rps"`
	Requests    int     `json:"requests"`
	OK          int     `json:"ok"`
	Err4xx      int     `json:"err_4xx"`
	Err5xx      int     `json:"err_5xx"`
	Transport   int     `json:"transport"`
	SuccessPct  float64 `json:"success_pct"`
	P50         float64 `json:"p50"`
	P95         float64 `json:"p95"`
	P99         float64 `json:"p99"`
	Max         float64 `json:"max"`
	InService   string  `json:"in_service"`
	CPU         float64 `json:"cpu"`
}

// ZoneRow is one Availability Zone over the load.
type ZoneRow struct {
	Zone          string  `json:"zone"`
	InServiceMin  int     `json:"in_service_min"`
	InServiceMax  int     `json:"in_service_max"`
	InServiceMean float64 `json:"in_service_mean"`
	InstanceHours float64 `json:"instance_hours"`
	CPUMean       float64 `json:"cpu_mean"`
	CPUMax        float64 `json:"cpu_max"`
	Launches      int     `json:"launches"`
	Terminations  int     `json:"terminations"`
	Faults        int     `json:"faults"`
}

// Histogram is the latency distribution.
type Histogram struct {
	Note    string   `json:"note"`
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one latency range.
type Bucket struct {
	Label string  `json:"label"`
	Count float64 `json:"count"`
	Pct   float64 `json:"pct"`
	Bar   float64 `json:"bar"` // 0-100, relative to the largest bucket
}

// Cost is what the group cost in AWS time.
type Cost struct {
	InstanceHours float64 `json:"instance_hours"`
	Note          string  `json:"note"`
}

// Colours of the charts.
var (
	zoneColors = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"}
	markColors = map[string]string{
		MarkScaleOut: "#2ca02c", MarkScaleIn: "#17becf", MarkLaunch: "#7fbf7f", MarkTerminate: "#8c564b",
		MarkFault: "#d62728", MarkRevert: "#ff9896", MarkAlarm: "#ff7f0e", MarkAlarmOK: "#bcbd22",
	}
	markGlyphs = map[string]string{
		MarkScaleOut: "▲", MarkScaleIn: "▼", MarkLaunch: "+", MarkTerminate: "×",
		MarkFault: "⚡", MarkRevert: "↺", MarkAlarm: "!", MarkAlarmOK: "✓",
	}
	markOrder = []string{MarkScaleOut, MarkScaleIn, MarkLaunch, MarkTerminate, MarkFault, MarkRevert, MarkAlarm, MarkAlarmOK}
)

// maxPoints bounds the points of a series: longer runs are downsampled.
const maxPoints = 600

// stackDoc is what the report needs of stack.yaml.
type stackDoc struct {
	Zones    []string `yaml:"availability_zones"`
	Policies []struct {
		Name  string `yaml:"name"`
		Alarm *struct {
			MetricName string  `yaml:"metric_name"`
			Comparison string  `yaml:"comparison_operator"`
			Threshold  float64 `yaml:"threshold"`
		} `yaml:"alarm"`
	} `yaml:"scaling_policies"`
}

type alarmLine struct {
	policy    string
	cmp       string
	threshold float64
	high      bool
}

// analysis is a run prepared for building reports.
type analysis struct {
	run     *Run
	t0      time.Time // AWS time the run started
	zones   []string
	alarms  []alarmLine
	p99SLO  float64 // 0 when the scenario has no p99 ceiling
	secs    []Second
	ends    []float64 // AWS seconds at the end of each second
	dts     []float64 // AWS seconds each record covers
	phases  []Span
	xmax    float64
	markers []Marker
}

func analyse(r *Run) *analysis {
	a := &analysis{run: r, secs: r.Seconds}
	for _, e := range r.Events {
		if e.Type == "RunStarted" {
			a.t0 = e.Time
			break
		}
	}
	if a.t0.IsZero() && len(r.Events) > 0 {
		a.t0 = r.Events[0].Time
	}
	var sd stackDoc
	if err := yaml.Unmarshal([]byte(r.StackYAML), &sd); err == nil {
		a.zones = sd.Zones
		for _, p := range sd.Policies {
			if p.Alarm == nil || (p.Alarm.MetricName != "" && p.Alarm.MetricName != "CPUUtilization") {
				continue
			}
			a.alarms = append(a.alarms, alarmLine{policy: p.Name, cmp: p.Alarm.Comparison, threshold: p.Alarm.Threshold,
				high: strings.HasPrefix(p.Alarm.Comparison, "GreaterThan")})
		}
	}
	seen := map[string]bool{}
	for _, z := range a.zones {
		seen[z] = true
	}
	var extra []string
	for _, s := range r.Seconds {
		for z := range s.InService {
			if !seen[z] {
				seen[z] = true
				extra = append(extra, z)
			}
		}
		for z := range s.CPU {
			if !seen[z] {
				seen[z] = true
				extra = append(extra, z)
			}
		}
	}
	slices.Sort(extra)
	a.zones = append(a.zones, extra...)
	for _, s := range r.Summary.SLOs {
		if slo, err := scenarios.ParseSLO(s.Expr); err == nil && slo.Metric == scenarios.P99 && (slo.Op == "<=" || slo.Op == "<") {
			if a.p99SLO == 0 || slo.Threshold < a.p99SLO {
				a.p99SLO = slo.Threshold
			}
		}
	}
	speed := r.Summary.Speed
	if speed <= 0 {
		speed = 1
	}
	for i, s := range a.secs {
		a.ends = append(a.ends, s.AWS)
		dt := speed
		if i > 0 {
			dt = s.AWS - a.secs[i-1].AWS
		}
		a.dts = append(a.dts, max(0, dt))
	}
	// Phases: consecutive seconds of one phase; the first starts a wall
	// second (speed AWS seconds) before its first record ends.
	for i, s := range a.secs {
		if i == 0 || s.Phase != a.secs[i-1].Phase {
			start := s.AWS - speed
			if i > 0 {
				start = a.secs[i-1].AWS
			}
			a.phases = append(a.phases, Span{Name: s.Phase, Start: r3(max(0, start) / 60)})
		}
		a.phases[len(a.phases)-1].End = r3(s.AWS / 60)
	}
	if len(a.phases) == 0 { // no seconds.jsonl: phases from the journal
		for _, e := range r.Events {
			if e.Type != "PhaseChanged" {
				continue
			}
			var p struct {
				Phase string `json:"phase"`
			}
			json.Unmarshal(e.Event, &p)
			at := a.min(e.Time)
			if n := len(a.phases); n > 0 {
				a.phases[n-1].End = at
			}
			a.phases = append(a.phases, Span{Name: p.Phase, Start: at, End: at})
		}
	}
	a.xmax = r.Summary.AWSSeconds / 60
	if n := len(a.secs); n > 0 {
		a.xmax = max(a.xmax, a.secs[n-1].AWS/60)
	}
	for _, e := range r.Events {
		if m := a.min(e.Time); m > a.xmax && e.Type != "RunStopped" {
			a.xmax = m
		}
	}
	if n := len(a.phases); n > 0 && a.phases[n-1].End == a.phases[n-1].Start {
		a.phases[n-1].End = r3(a.xmax)
	}
	a.xmax = r3(a.xmax)
	a.markers = a.buildMarkers("")
	return a
}

// min is an AWS time as minutes since the run started.
func (a *analysis) min(t time.Time) float64 { return r3(t.Sub(a.t0).Minutes()) }

// sec is an AWS time as seconds since the run started.
func (a *analysis) sec(t time.Time) float64 { return t.Sub(a.t0).Seconds() }

// Event payloads the report reads.
type (
	evScaling struct {
		Instance, Zone, Action, Description, Cause string
	}
	evDesired struct {
		From, To      int
		Policy, Alarm string
		Value         float64 `json:"metric_value"`
	}
	evLifecycle struct{ Instance, Zone, From, To string }
	evAlarm     struct{ Alarm, From, To string }
	evFault     struct {
		N                            int
		Action, Instance, Zone, Note string
		Duration                     string
	}
	evPhase struct{ Phase, Note string }
)

func decode[T any](e Event) T {
	var v T
	json.Unmarshal(e.Event, &v)
	return v
}

func (a *analysis) buildMarkers(run string) []Marker {
	var out []Marker
	add := func(e Event, kind, label string) {
		out = append(out, Marker{At: a.min(e.Time), Kind: kind, Label: label, Run: run})
	}
	for _, e := range a.run.Events {
		switch e.Type {
		case "DesiredCapacityChanged":
			d := decode[evDesired](e)
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
		case "ScalingActivity":
			s := decode[evScaling](e)
			if s.Action == "Launch" {
				add(e, MarkLaunch, "launch "+s.Instance+" ("+s.Zone+")")
			} else {
				add(e, MarkTerminate, "terminate "+s.Instance+" ("+s.Zone+")")
			}
		case "FaultInjected":
			f := decode[evFault](e)
			add(e, MarkFault, fmt.Sprintf("chaos #%d %s %s", f.N, f.Action, f.Instance))
		case "FaultReverted":
			f := decode[evFault](e)
			add(e, MarkRevert, fmt.Sprintf("revert #%d %s", f.N, f.Action))
		case "AlarmStateChanged":
			al := decode[evAlarm](e)
			if al.To == "ALARM" {
				add(e, MarkAlarm, "alarm "+al.Alarm+" → ALARM")
			} else if al.From == "ALARM" {
				add(e, MarkAlarmOK, "alarm "+al.Alarm+" → "+al.To)
			}
		}
	}
	return out
}

// Build computes the report of a run.
func Build(r *Run) *Report {
	a := analyse(r)
	s := r.Summary
	rep := &Report{
		Title: fmt.Sprintf("%s %s: %s on %s", s.Verdict, s.RunID, s.Scenario, s.Stack),
		Run: RunInfo{RunID: s.RunID, Scenario: s.Scenario, Stack: s.Stack, Seed: s.Seed, Speed: s.Speed, Driver: s.Driver,
			WallSeconds: r1(s.WallSeconds), AWSSeconds: r1(s.AWSSeconds), Verdict: s.Verdict, Reason: s.Reason},
		XMax: a.xmax, Phases: a.phases, Markers: a.markers,
		StackYAML: r.StackYAML, ScenarioYAML: r.ScenarioYAML,
	}
	if !a.t0.IsZero() {
		rep.Run.AWSStart = a.t0.UTC().Format(time.RFC3339)
	}
	for _, o := range s.SLOs {
		shown := o.Shown
		if shown == "" {
			shown = trimNum(o.Observed)
		}
		rep.SLOs = append(rep.SLOs, SLORow{Expr: o.Expr, Observed: shown, Pass: o.Pass, Margin: signed(o.Margin)})
	}
	rep.Validity = validity(s)
	rep.Totals = Totals{Requests: s.Requests, SuccessRate: r3(s.SuccessRate), P50: r3(s.Latency.P50), P95: r3(s.Latency.P95),
		P99: r3(s.Latency.P99), Max: r3(s.Latency.Max),
		Errors: []KV{{"HTTP 4xx", int64(s.Errors.HTTP4xx)}, {"HTTP 5xx", int64(s.Errors.HTTP5xx)}, {"transport", int64(s.Errors.Transport)},
			{"ELB 502", s.Errors.ELB502}, {"ELB 503", s.Errors.ELB503}, {"ELB 504", s.Errors.ELB504}, {"target 5xx", s.Errors.Target5xx}},
		InServiceMin: s.InService.Min, InServiceMax: s.InService.Max,
		Launches: s.ScalingActivities.Launches, Terminations: s.ScalingActivities.Terminations,
		ScaleOuts: s.ScalingActivities.ScaleOuts, ScaleIns: s.ScalingActivities.ScaleIns, Replacements: s.ScalingActivities.Replacements,
		Faults: s.Faults.Injected, Reverted: s.Faults.Reverted, AckWrites: s.AcknowledgedWrites, LostWrites: s.LostWrites}
	rep.Timeline = a.timeline()
	rep.Charts = a.charts()
	rep.TimeToScale = a.timeToScale()
	rep.PhaseRows = a.phaseRows()
	rep.ZoneRows = a.zoneRows()
	rep.Histogram = a.histogram()
	rep.Cost = Cost{InstanceHours: r3(a.instanceHours("")),
		Note: "instances InService integrated over AWS time from seconds.jsonl (the load only: start-up and shutdown are not counted)"}
	return rep
}

func validity(s Summary) Validity {
	v := Validity{OfferedRPS: r1(s.OfferedRate), AchievedRPS: r1(s.AchievedRate), LagP99Ms: r3(s.LagP99Ms), Invalid: s.Invalid}
	if s.OfferedRate > 0 {
		v.AchievedPct = r1(100 * s.AchievedRate / s.OfferedRate)
	}
	if s.Invalid {
		v.Note = "The load generator did not hold its schedule: the numbers below prove nothing about the tier."
	} else {
		v.Note = "The load generator held its schedule: the tier saw the load the scenario asked for."
	}
	return v
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
// are averaged per second, latencies take the bucket's worst, states the last.
func (a *analysis) downsampled() []Second {
	n := len(a.secs)
	if n <= maxPoints {
		return a.secs
	}
	k := (n + maxPoints - 1) / maxPoints
	var out []Second
	for i := 0; i < n; i += k {
		b := a.secs[i:min(n, i+k)]
		m := b[len(b)-1]
		m.CPU = map[string]float64{}
		var offered float64
		var sent, ok, e4, e5, tr int
		var cpuN = map[string]int{}
		var g float64
		gn := 0
		for _, s := range b {
			offered += s.Offered
			sent += s.Sent
			ok += s.OK
			e4 += s.Err4xx
			e5 += s.Err5xx
			tr += s.Transport
			m.P50 = max(m.P50, s.P50)
			m.P95 = max(m.P95, s.P95)
			m.P99 = max(m.P99, s.P99)
			m.Max = max(m.Max, s.Max)
			for z, c := range s.CPU {
				m.CPU[z] += c
				cpuN[z]++
			}
			if s.GroupCPU != nil {
				g += *s.GroupCPU
				gn++
			}
		}
		l := len(b)
		m.Offered = offered / float64(l)
		m.Sent, m.OK, m.Err4xx, m.Err5xx, m.Transport = sent/l, ok/l, e4/l, e5/l, tr/l
		for z := range m.CPU {
			m.CPU[z] /= float64(cpuN[z])
		}
		if gn > 0 {
			v := g / float64(gn)
			m.GroupCPU = &v
		} else {
			m.GroupCPU = nil
		}
		out = append(out, m)
	}
	return out
}

func (a *analysis) charts() []Chart {
	ds := a.downsampled()
	note := ""
	if len(ds) < len(a.secs) {
		note = fmt.Sprintf("%d seconds downsampled to %d points (counts averaged, latencies the worst second).", len(a.secs), len(ds))
	}
	series := func(name, color string, f func(Second) (float64, bool)) Series {
		s := Series{Name: name, Color: color}
		for _, x := range ds {
			if v, ok := f(x); ok {
				s.Pts = append(s.Pts, Pt{r3(x.AWS / 60), r3(v)})
			}
		}
		return s
	}
	always := func(f func(Second) float64) func(Second) (float64, bool) {
		return func(s Second) (float64, bool) { return f(s), true }
	}
	positive := func(f func(Second) float64) func(Second) (float64, bool) {
		return func(s Second) (float64, bool) { v := f(s); return v, v > 0 && s.Sent > 0 }
	}

	rps := Chart{ID: "rps", Title: "Requests per second", YLabel: "requests / wall s", Note: note}
	off := series("offered", "#888888", always(func(s Second) float64 { return s.Offered }))
	off.Dash = true
	rps.Series = append(rps.Series, off,
		series("OK (2xx)", "#2ca02c", always(func(s Second) float64 { return float64(s.OK) })),
		series("4xx", "#ff7f0e", always(func(s Second) float64 { return float64(s.Err4xx) })),
		series("5xx", "#d62728", always(func(s Second) float64 { return float64(s.Err5xx) })),
		series("transport errors", "#9467bd", always(func(s Second) float64 { return float64(s.Transport) })))

	lat := Chart{ID: "latency", Title: "Latency per second (log scale)", YLabel: "ms", LogY: true}
	p99 := series("p99", "#d62728", positive(func(s Second) float64 { return s.P99 }))
	p99.Wide = true
	lat.Series = append(lat.Series,
		series("p50", "#2ca02c", positive(func(s Second) float64 { return s.P50 })),
		series("p95", "#ff7f0e", positive(func(s Second) float64 { return s.P95 })), p99)
	if a.p99SLO > 0 {
		lat.HLines = append(lat.HLines, HLine{Y: a.p99SLO, Label: "SLO p99 " + fmtMs(a.p99SLO), Color: "#d62728"})
	}

	inst := Chart{ID: "instances", Title: "Instances in service per zone (stacked) and desired capacity", YLabel: "instances"}
	for i, z := range a.zones {
		s := series(z, zoneColors[i%len(zoneColors)], always(func(s Second) float64 { return float64(s.InService[z]) }))
		s.Area, s.Step = true, true
		inst.Series = append(inst.Series, s)
	}
	des := series("desired", "#000000", always(func(s Second) float64 { return float64(s.Desired) }))
	des.Dash, des.Step = true, true
	inst.Series = append(inst.Series, des)

	cpu := Chart{ID: "cpu", Title: "CPU utilization per zone, against the alarm thresholds", YLabel: "% CPU", YTop: 100}
	for i, z := range a.zones {
		cpu.Series = append(cpu.Series, series(z, zoneColors[i%len(zoneColors)], func(s Second) (float64, bool) {
			v, ok := s.CPU[z]
			return v, ok
		}))
	}
	g := series("group (the alarms' view)", "#000000", func(s Second) (float64, bool) {
		if s.GroupCPU == nil {
			return 0, false
		}
		return *s.GroupCPU, true
	})
	g.Wide = true
	cpu.Series = append(cpu.Series, g)
	for _, al := range a.alarms {
		c := "#d62728"
		if !al.high {
			c = "#17becf"
		}
		cpu.HLines = append(cpu.HLines, HLine{Y: al.threshold, Label: fmt.Sprintf("%s %s %g", al.policy, cmpSym(al.cmp), al.threshold), Color: c})
	}
	return []Chart{rps, lat, inst, cpu}
}

// timeToScale follows the first scale-out: the group's CPU crosses the high
// alarm's threshold, the alarm fires, the policy raises desired capacity, a
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
		if e.Type != "DesiredCapacityChanged" {
			continue
		}
		d := decode[evDesired](e)
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
			if ok && exceeds(g, high.cmp, high.threshold) {
				breach = s.AWS
				details = append(details, fmt.Sprintf("group CPU %.1f%% %s %g (%s)", g, cmpSym(high.cmp), high.threshold, s.Phase))
				break
			}
		}
		if breach >= 0 {
			times = append(times, breach)
			var alarmAt time.Time
			for _, e := range a.run.Events {
				if e.Type == "AlarmStateChanged" {
					if al := decode[evAlarm](e); al.Alarm == high.policy && al.To == "ALARM" {
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
					if e.Type == "DesiredCapacityChanged" && !e.Time.Before(alarmAt) {
						if d := decode[evDesired](e); d.To > d.From {
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
					l := decode[evLifecycle](ie)
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
			details = append(details, fmt.Sprintf("the group's CPU never went %s %g%%", cmpSym(high.cmp), high.threshold))
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
		if e.Type == "LifecycleChanged" && e.Time.After(after) {
			if l := decode[evLifecycle](e); l.To == "InService" {
				return e, true
			}
		}
	}
	return Event{}, false
}

// calmP99 is the median per-second p99 of the first phase.
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

func exceeds(v float64, cmp string, t float64) bool {
	switch cmp {
	case "GreaterThanOrEqualToThreshold":
		return v >= t
	case "LessThanThreshold":
		return v < t
	case "LessThanOrEqualToThreshold":
		return v <= t
	}
	return v > t
}

func cmpSym(cmp string) string {
	switch cmp {
	case "GreaterThanOrEqualToThreshold":
		return "≥"
	case "LessThanThreshold":
		return "<"
	case "LessThanOrEqualToThreshold":
		return "≤"
	}
	return ">"
}

func (a *analysis) phaseRows() []PhaseRow {
	var rows []PhaseRow
	for _, ph := range a.phases {
		var seg []Second
		var segDt []float64
		for i, s := range a.secs {
			if r3(s.AWS/60) > ph.Start && r3(s.AWS/60) <= ph.End && s.Phase == ph.Name {
				seg = append(seg, s)
				segDt = append(segDt, a.dts[i])
			}
		}
		row := PhaseRow{Name: ph.Name, From: clockAt(ph.Start * 60), To: clockAt(ph.End * 60), WallSeconds: len(seg)}
		h := newDist()
		lo, hi := math.MaxInt, 0
		var cpu, cpuW float64
		for i, s := range seg {
			row.OfferedRPS += s.Offered
			row.Requests += s.Sent
			row.OK += s.OK
			row.Err4xx += s.Err4xx
			row.Err5xx += s.Err5xx
			row.Transport += s.Transport
			row.Max = max(row.Max, s.Max)
			h.addSecond(s)
			n := total(s.InService)
			lo, hi = min(lo, n), max(hi, n)
			if g, ok := groupCPU(s); ok {
				cpu += g * segDt[i]
				cpuW += segDt[i]
			}
		}
		if len(seg) > 0 {
			row.OfferedRPS = r1(row.OfferedRPS / float64(len(seg)))
			row.InService = fmt.Sprintf("%d–%d", lo, hi)
			if lo == hi {
				row.InService = fmt.Sprint(lo)
			}
		}
		if row.Requests > 0 {
			row.SuccessPct = r3(100 * float64(row.Requests-row.Err5xx-row.Transport) / float64(row.Requests))
		}
		row.P50, row.P95, row.P99 = r3(h.quantile(0.5)), r3(h.quantile(0.95)), r3(h.quantile(0.99))
		row.Max = r3(row.Max)
		if cpuW > 0 {
			row.CPU = r1(cpu / cpuW)
		}
		rows = append(rows, row)
	}
	return rows
}

func (a *analysis) zoneRows() []ZoneRow {
	var rows []ZoneRow
	for _, z := range a.zones {
		row := ZoneRow{Zone: z, InServiceMin: math.MaxInt}
		var sum, dur, cpu, cpuN float64
		for i, s := range a.secs {
			n := s.InService[z]
			row.InServiceMin = min(row.InServiceMin, n)
			row.InServiceMax = max(row.InServiceMax, n)
			sum += float64(n) * a.dts[i]
			dur += a.dts[i]
			if c, ok := s.CPU[z]; ok {
				cpu += c
				cpuN++
				row.CPUMax = max(row.CPUMax, c)
			}
		}
		if row.InServiceMin == math.MaxInt {
			row.InServiceMin = 0
		}
		if dur > 0 {
			row.InServiceMean = r3(sum / dur)
		}
		row.InstanceHours = r3(sum / 3600)
		if cpuN > 0 {
			row.CPUMean = r1(cpu / cpuN)
		}
		row.CPUMax = r1(row.CPUMax)
		for _, e := range a.run.Events {
			switch e.Type {
			case "ScalingActivity":
				if s := decode[evScaling](e); s.Zone == z {
					if s.Action == "Launch" {
						row.Launches++
					} else {
						row.Terminations++
					}
				}
			case "FaultInjected":
				if f := decode[evFault](e); f.Zone == z {
					row.Faults++
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// instanceHours integrates instances in service (one zone, or all for "")
// over AWS time.
func (a *analysis) instanceHours(zone string) float64 {
	var sum float64
	for i, s := range a.secs {
		n := total(s.InService)
		if zone != "" {
			n = s.InService[zone]
		}
		sum += float64(n) * a.dts[i]
	}
	return sum / 3600
}

func (a *analysis) histogram() Histogram {
	h := newDist()
	for _, s := range a.secs {
		h.addSecond(s)
	}
	return Histogram{
		Note: "No raw latencies are stored: this distribution is rebuilt from each second's p50, p95, p99 and max " +
			"(half of the second's requests log-uniform between p50/2 and p50, 45% between p50 and p95, 4% between p95 and p99, " +
			"1% between p99 and max). Shapes are approximate; the per-phase quantiles come from the same rebuild.",
		Buckets: h.buckets(),
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// clockAt formats AWS seconds since the start as +mm:ss (or +h:mm:ss).
func clockAt(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, h, m, sec)
	}
	return fmt.Sprintf("%s%02d:%02d", sign, m, sec)
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 1000:
		return trimNum(r3(ms/1000)) + " s"
	case ms >= 10:
		return trimNum(math.Round(ms)) + " ms"
	case ms >= 1:
		return trimNum(math.Round(ms*10)/10) + " ms"
	}
	return trimNum(math.Round(ms*100)/100) + " ms"
}

func trimNum(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

func signed(v float64) string {
	s := trimNum(r3(v))
	if v > 0 {
		return "+" + s
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func r1(v float64) float64 { return math.Round(v*10) / 10 }
func r3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}
