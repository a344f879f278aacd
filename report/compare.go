package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/simplydone/lab/rundir"
)

// Comparison is two runs side by side: compare.html renders it and the
// terminal gets its rows as a table.
type Comparison struct {
	Title   string       `json:"title"`
	A       RunInfo      `json:"a"`
	B       RunInfo      `json:"b"`
	XMax    float64      `json:"x_max_min"`
	Phases  []Span       `json:"phases"` // run A's
	Markers []Marker     `json:"markers"`
	Charts  []Chart      `json:"charts"`
	Rows    []CompareRow `json:"rows"`
	Notes   []string     `json:"notes,omitempty"`
}

// CompareRow is one figure of both runs.
type CompareRow struct {
	Section string `json:"section"`
	Metric  string `json:"metric"`
	A       string `json:"a"`
	B       string `json:"b"`
	Delta   string `json:"delta"` // B - A
}

// Compare builds the comparison of run a (the baseline) and run b.
func Compare(ra, rb *Run) *Comparison {
	a, b := analyse(ra), analyse(rb)
	repA, repB := Build(ra), Build(rb)
	c := &Comparison{
		Title: fmt.Sprintf("%s vs %s", repA.Run.RunID, repB.Run.RunID),
		A:     repA.Run, B: repB.Run,
		XMax:   math.Max(a.xmax, b.xmax),
		Phases: a.phases,
	}
	for _, m := range a.markers {
		if keepCompareMarker(m.Kind) {
			m.Run = "A"
			c.Markers = append(c.Markers, m)
		}
	}
	for _, m := range b.markers {
		if keepCompareMarker(m.Kind) {
			m.Run = "B"
			c.Markers = append(c.Markers, m)
		}
	}
	if ra.ScenarioYAML != rb.ScenarioYAML {
		c.Notes = append(c.Notes, "The two runs' scenario.yaml differ; phases shaded are run A's.")
	}
	if ra.StackYAML != rb.StackYAML {
		c.Notes = append(c.Notes, "The two runs' stack.yaml differ.")
	}
	c.Charts = compareCharts(a, b)
	c.Rows = compareRows(a, b, repA, repB)
	return c
}

func keepCompareMarker(kind string) bool {
	return kind == MarkScaleOut || kind == MarkScaleIn || kind == MarkFault || kind == MarkDatabase
}

const colorA, colorB = "#1f77b4", "#e6550d"

func compareCharts(a, b *analysis) []Chart {
	pts := func(an *analysis, f func(Second) (float64, bool)) []Pt {
		var out []Pt
		for _, s := range an.downsampled() {
			if v, ok := f(s); ok {
				out = append(out, Pt{r3(s.AWS / 60), r3(v)})
			}
		}
		return out
	}
	both := func(name string, f func(Second) (float64, bool), dash, step, wide bool) []Series {
		return []Series{
			{Name: "A " + name, Color: colorA, Dash: dash, Step: step, Wide: wide, Pts: pts(a, f)},
			{Name: "B " + name, Color: colorB, Dash: dash, Step: step, Wide: wide, Pts: pts(b, f)},
		}
	}
	ok := func(s Second) (float64, bool) { return float64(s.OK), true }
	errs := func(s Second) (float64, bool) { return float64(s.Err4xx + s.Err5xx + s.Transport), true }
	offered := func(s Second) (float64, bool) { return s.Offered, true }
	p99 := func(s Second) (float64, bool) { return s.P99, s.P99 > 0 && s.Sent > 0 }
	p50 := func(s Second) (float64, bool) { return s.P50, s.P50 > 0 && s.Sent > 0 }
	inSvc := func(s Second) (float64, bool) { return float64(total(s.InService)), true }
	desired := func(s Second) (float64, bool) { return float64(s.Desired), true }
	gcpu := func(s Second) (float64, bool) { return groupCPU(s) }

	rps := Chart{ID: "rps", Title: "Requests per second: offered (dotted), OK (solid), errors (dashed)", YLabel: "requests / wall s"}
	off := both("offered", offered, true, false, false)
	for i := range off {
		off[i].Color = "#999999"
		if i == 1 {
			off[i].Color = "#cccccc"
		}
	}
	rps.Series = append(rps.Series, off...)
	rps.Series = append(rps.Series, both("OK", ok, false, false, false)...)
	rps.Series = append(rps.Series, both("errors", errs, true, false, true)...)

	lat := Chart{ID: "latency", Title: "Latency per second, p99 (solid) and p50 (dashed), log scale", YLabel: "ms", LogY: true}
	lat.Series = append(lat.Series, both("p99", p99, false, false, true)...)
	lat.Series = append(lat.Series, both("p50", p50, true, false, false)...)
	if a.p99SLO > 0 {
		lat.HLines = append(lat.HLines, HLine{Y: a.p99SLO, Label: "SLO p99 " + fmtMs(a.p99SLO), Color: "#d62728"})
	}

	inst := Chart{ID: "instances", Title: "Instances in service (solid) and desired capacity (dashed)", YLabel: "instances"}
	inst.Series = append(inst.Series, both("in service", inSvc, false, true, true)...)
	inst.Series = append(inst.Series, both("desired", desired, true, true, false)...)

	cpu := Chart{ID: "cpu", Title: "Group CPU (the alarms' view), against run A's alarm thresholds", YLabel: "% CPU", YTop: 100}
	cpu.Series = both("group CPU", gcpu, false, false, true)
	for _, al := range a.alarms {
		col := "#d62728"
		if !al.high {
			col = "#17becf"
		}
		cpu.HLines = append(cpu.HLines, HLine{Y: al.threshold, Label: fmt.Sprintf("%s %s %g", al.policy, al.cmp.Sign(), al.threshold), Color: col})
	}
	return []Chart{rps, lat, inst, cpu}
}

func compareRows(a, b *analysis, ra, rb *Report) []CompareRow {
	var rows []CompareRow
	add := func(section, metric, va, vb, delta string) {
		rows = append(rows, CompareRow{Section: section, Metric: metric, A: va, B: vb, Delta: delta})
	}
	num := func(section, metric string, va, vb float64, unit string) {
		show := func(v float64) string { return trimNum(r3(v)) + unit }
		diff := func(v float64) string { return signed(v) + unit }
		if unit == " ms" {
			show = fmtMs
			diff = func(v float64) string {
				if v < 0 {
					return "-" + fmtMs(-v)
				}
				return "+" + fmtMs(v)
			}
		}
		d := ""
		if r3(va) != r3(vb) {
			d = diff(vb - va)
			if va != 0 && unit != "%" {
				d += fmt.Sprintf(" (%+.0f%%)", 100*(vb-va)/math.Abs(va))
			}
		}
		add(section, metric, show(va), show(vb), d)
	}
	sa, sb := a.run.Summary, b.run.Summary
	add("verdict", "verdict", sa.Verdict, sb.Verdict, "")
	// SLOs, matched by expression.
	type pair struct{ a, b *SLORow }
	var order []string
	slos := map[string]*pair{}
	for i := range ra.SLOs {
		s := &ra.SLOs[i]
		if slos[s.Expr] == nil {
			slos[s.Expr] = &pair{}
			order = append(order, s.Expr)
		}
		slos[s.Expr].a = s
	}
	for i := range rb.SLOs {
		s := &rb.SLOs[i]
		if slos[s.Expr] == nil {
			slos[s.Expr] = &pair{}
			order = append(order, s.Expr)
		}
		slos[s.Expr].b = s
	}
	show := func(s *SLORow) string {
		if s == nil {
			return "—"
		}
		return map[bool]string{true: "✓ ", false: "✗ "}[s.Pass] + s.Observed
	}
	for _, e := range order {
		p := slos[e]
		add("SLOs", e, show(p.a), show(p.b), "")
	}
	num("traffic", "requests", float64(sa.Requests), float64(sb.Requests), "")
	num("traffic", "success rate", sa.SuccessRate, sb.SuccessRate, "%")
	num("traffic", "achieved / offered rate", pctOf(sa.AchievedRate, sa.OfferedRate), pctOf(sb.AchievedRate, sb.OfferedRate), "%")
	num("traffic", "schedule lag p99", sa.LagP99Ms, sb.LagP99Ms, " ms")
	num("latency", "p50", sa.Latency.P50, sb.Latency.P50, " ms")
	num("latency", "p95", sa.Latency.P95, sb.Latency.P95, " ms")
	num("latency", "p99", sa.Latency.P99, sb.Latency.P99, " ms")
	num("latency", "max", sa.Latency.Max, sb.Latency.Max, " ms")
	errA, errB := sa.Errors, sb.Errors
	num("errors", "total failed (5xx + transport)", float64(errA.HTTP5xx+errA.Transport), float64(errB.HTTP5xx+errB.Transport), "")
	num("errors", "HTTP 4xx", float64(errA.HTTP4xx), float64(errB.HTTP4xx), "")
	num("errors", "HTTP 5xx", float64(errA.HTTP5xx), float64(errB.HTTP5xx), "")
	num("errors", "transport", float64(errA.Transport), float64(errB.Transport), "")
	num("errors", "ELB 502", float64(errA.ELB502), float64(errB.ELB502), "")
	num("errors", "ELB 503", float64(errA.ELB503), float64(errB.ELB503), "")
	num("errors", "ELB 504", float64(errA.ELB504), float64(errB.ELB504), "")
	num("errors", "target 5xx", float64(errA.Target5xx), float64(errB.Target5xx), "")
	num("cost", "instance-hours (AWS time)", ra.Cost.InstanceHours, rb.Cost.InstanceHours, "")
	num("cost", "max in service", float64(sa.InService.Max), float64(sb.InService.Max), "")
	num("cost", "min in service", float64(sa.InService.Min), float64(sb.InService.Min), "")
	num("scaling", "scale-out decisions", float64(sa.ScalingActivities.ScaleOuts), float64(sb.ScalingActivities.ScaleOuts), "")
	num("scaling", "scale-in decisions", float64(sa.ScalingActivities.ScaleIns), float64(sb.ScalingActivities.ScaleIns), "")
	num("scaling", "launches", float64(sa.ScalingActivities.Launches), float64(sb.ScalingActivities.Launches), "")
	num("scaling", "terminations", float64(sa.ScalingActivities.Terminations), float64(sb.ScalingActivities.Terminations), "")
	stA, stB := ra.TimeToScale.Steps, rb.TimeToScale.Steps
	for i := range stA {
		if i == 0 {
			if len(stB) > 0 {
				add("time to scale", "first breach at", dashIf(stA[0].At), dashIf(stB[0].At), "")
			}
			continue
		}
		// Steps are matched by name: runs from before a step existed lack it.
		j := slices.IndexFunc(stB, func(s ScaleStep) bool { return s.Step == stA[i].Step })
		if j < 0 {
			continue
		}
		va, vb := stA[i].SinceBreak, stB[j].SinceBreak
		d := ""
		if va != nil && vb != nil && *va != *vb {
			d = signed(*vb-*va) + " s"
		}
		add("time to scale", stA[i].Step+" (since breach)", secsOr(va), secsOr(vb), d)
	}
	num("writes", "lost writes", float64(sa.LostWrites), float64(sb.LostWrites), "")
	num("writes", "acknowledged writes", float64(sa.AcknowledgedWrites), float64(sb.AcknowledgedWrites), "")
	num("writes", "stale reads", float64(sa.StaleReads), float64(sb.StaleReads), "")
	if sa.Sessions != nil || sb.Sessions != nil {
		lost := func(s *rundir.Sessions) float64 {
			if s == nil {
				return 0
			}
			return float64(s.Lost)
		}
		num("writes", "lost session state", lost(sa.Sessions), lost(sb.Sessions), "")
	}
	if da, db := databaseFigures(a.run.Database), databaseFigures(b.run.Database); da.ok || db.ok {
		num("database", "DB instances", float64(da.instances), float64(db.instances), "")
		num("database", "primary DatabaseConnections, max", da.primaryConnsMax, db.primaryConnsMax, "")
		num("database", "primary CPUUtilization, mean", r1(da.primaryCPUMean), r1(db.primaryCPUMean), "%")
		num("database", "primary CPUUtilization, max", r1(da.primaryCPU), r1(db.primaryCPU), "%")
		num("database", "read replicas' CPUUtilization, max", r1(da.readersCPUMax), r1(db.readersCPUMax), "%")
		num("database", "ReplicaLag, max (s)", r1(da.lagMax), r1(db.lagMax), "")
	}
	return rows
}

func pctOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return r1(100 * a / b)
}

func dashIf(s string) string { return orDash(s) }

func secsOr(p *float64) string {
	if p == nil {
		return "—"
	}
	return trimNum(*p) + " s"
}

// WriteText prints the comparison as a table for the terminal.
func (c *Comparison) WriteText(w io.Writer) {
	fmt.Fprintf(w, "A  %s  %s on %s (seed %d, speed %g×)  %s\n", c.A.RunID, c.A.Scenario, c.A.Stack, c.A.Seed, c.A.Speed, c.A.Verdict)
	fmt.Fprintf(w, "B  %s  %s on %s (seed %d, speed %g×)  %s\n", c.B.RunID, c.B.Scenario, c.B.Stack, c.B.Seed, c.B.Speed, c.B.Verdict)
	for _, n := range c.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := ""
	for _, r := range c.Rows {
		if r.Section != section {
			section = r.Section
			fmt.Fprintf(tw, "\t\t\t\n%s\tA\tB\tB − A\n", strings.ToUpper(section))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Metric, r.A, r.B, r.Delta)
	}
	tw.Flush()
}

// RenderCompare writes the comparison as one HTML page.
func RenderCompare(w io.Writer, c *Comparison) error {
	type drawn struct {
		Chart
		SVG template.HTML
	}
	v := struct {
		*Comparison
		Drawn []drawn
	}{Comparison: c}
	for _, ch := range c.Charts {
		v.Drawn = append(v.Drawn, drawn{Chart: ch, SVG: renderChart(ch, c.XMax, c.Phases, c.Markers)})
	}
	return pageTmpl.ExecuteTemplate(w, "compare", v)
}

// WriteCompare reads two run directories and writes their comparison page
// to path; it returns the comparison for the terminal.
func WriteCompare(dirA, dirB, path string) (*Comparison, error) {
	ra, err := ReadRun(dirA)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rb, err := ReadRun(dirB)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	c := Compare(ra, rb)
	var buf bytes.Buffer
	if err := RenderCompare(&buf, c); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return c, writeFile(path, buf.Bytes())
}
