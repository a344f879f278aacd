package report

import (
	"fmt"
)

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

// zoneColors colour the zones, in the stack's order.
var zoneColors = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"}

// maxPoints bounds the points of a series: longer runs are downsampled.
const maxPoints = 600

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
		cpu.HLines = append(cpu.HLines, HLine{Y: al.threshold, Label: fmt.Sprintf("%s %s %g", al.policy, al.cmp.Sign(), al.threshold), Color: c})
	}
	out := []Chart{rps, lat, inst, cpu}
	if h, ok := a.hostChart(); ok {
		out = append(out, h)
	}
	out = append(out, a.dbCharts()...)
	return out
}

// timeToScale follows the first scale-out: the group's CPU crosses the high
// alarm's threshold, the alarm fires, the policy raises desired capacity, a
