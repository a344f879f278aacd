package report

import (
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// stackDoc is what the report needs of stack.yaml.
type stackDoc struct {
	Zones    []string `yaml:"availability_zones"`
	Policies []struct {
		Name  string `yaml:"name"`
		Alarm *struct {
			MetricName string  `yaml:"metric_name"`
			Namespace  string  `yaml:"namespace"`
			Comparison string  `yaml:"comparison_operator"`
			Threshold  float64 `yaml:"threshold"`
		} `yaml:"alarm"`
	} `yaml:"scaling_policies"`
	Entries []zoneDoc `yaml:"zones"` // zones: instead of availability_zones (stack/zones.go)
}

// zoneDoc is one entry of zones:.
type zoneDoc struct {
	Name string `yaml:"name"`
}

type alarmLine struct {
	policy    string
	cmp       compare.Op // Greater when the stack names no operator the report knows
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
		if isRunStarted(e) {
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
		for _, e := range sd.Entries {
			a.zones = append(a.zones, e.Name)
		}
		for _, p := range sd.Policies {
			if p.Alarm == nil || (p.Alarm.MetricName != "" && p.Alarm.MetricName != "CPUUtilization") || p.Alarm.Namespace == stack.NamespaceRDS { // a DB instance's CPU is not the group's
				continue
			}
			op, ok := compare.ParseName(p.Alarm.Comparison)
			if !ok {
				op = compare.Greater
			}
			a.alarms = append(a.alarms, alarmLine{policy: p.Name, cmp: op, threshold: p.Alarm.Threshold, high: ok && op.Above()})
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
		if slo, err := scenarios.ParseSLO(s.Expr); err == nil && slo.Metric == scenarios.P99 && slo.Op.Below() {
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
			p, ok := e.Event.(rundir.PhaseChanged)
			if !ok {
				continue
			}
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
		if m := a.min(e.Time); m > a.xmax && !isRunStopped(e) {
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
