package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// layout is how the height is shared at the current size.
type layout struct {
	wide      bool // a column per zone (else one table)
	sloRows   int
	zoneRows  int
	alarmRows int
	charts    int // chart rows: 0, the basic set, or all of them
	logRows   int
}

// basicCharts is offered, ok, errors, p99 and the marks; the full set adds
// p50 and a row of instances in service per zone.
const basicCharts = 5

func (m Model) fullCharts() int { return basicCharts + 1 + len(m.chartZones()) }

func (m Model) layout() layout {
	w, h := m.width, m.height
	lay := layout{wide: w >= 120, sloRows: len(m.sloLines(w, 2))}
	if lay.wide {
		most := 1
		for _, z := range m.snap.Zones {
			n := 0
			for _, in := range z.Instances {
				n += 2 + viewsRows(in)
			}
			most = max(most, n)
		}
		lay.zoneRows = 2 + most
	} else {
		n := 0
		for _, z := range m.snap.Zones {
			for _, in := range z.Instances {
				n += 1 + viewsRows(in)
			}
		}
		lay.zoneRows = 1 + max(n, 1)
	}
	lay.alarmRows = 1
	if lay.wide {
		lay.alarmRows = min(max(len(m.snap.Alarms), 1), maxAlarmRows)
	}
	// header (1 + slo rows), rule, zones, rule, group, alarms, rule, log title, log, footer
	fixed := 1 + lay.sloRows + 1 + 1 + 1 + lay.alarmRows + 1 + 1 + 1
	if len(m.snap.Database) > 0 {
		fixed++ // the data tier's line
	}
	lay.zoneRows = min(lay.zoneRows, max(h-fixed-4, 2))
	used := fixed + lay.zoneRows
	for _, n := range []int{m.fullCharts(), basicCharts} {
		if h-used-n-1 >= 8 {
			lay.charts = n
			used += n + 1
			break
		}
	}
	lay.logRows = max(h-used, 1)
	return lay
}

// maxAlarmRows bounds the alarm lines of the wide layout.
const maxAlarmRows = 4

func (m Model) logRows() int { return m.layout().logRows }

// View implements tea.Model. It only formats what Update stored.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	w, h := m.width, m.height
	if w < MinWidth || h < MinHeight {
		msg := fmt.Sprintf("lab needs %d x %d; this terminal is %d x %d. Enlarge it, or press q to stop.", MinWidth, MinHeight, w, h)
		return ansi.Wrap(msg, max(w, 10), " ")
	}
	lay := m.layout()
	var lines []string
	lines = append(lines, m.headerLine(w))
	lines = append(lines, m.sloLines(w, 2)...)
	rule := m.st.dim.Render(strings.Repeat("─", w))
	lines = append(lines, rule)
	body := h - len(lines) - 1
	var rest []string
	switch {
	case m.help:
		rest = m.helpLines(w)
	default:
		if lay.wide {
			rest = append(rest, m.zoneColumns(w, lay.zoneRows)...)
		} else {
			rest = append(rest, m.zoneTable(w, lay.zoneRows)...)
		}
		rest = append(rest, rule, m.groupLine(w))
		if len(m.snap.Database) > 0 {
			rest = append(rest, m.databaseLine(w))
		}
		rest = append(rest, m.alarmLines(w, lay.alarmRows)...)
		if lay.charts > 0 {
			rest = append(rest, rule)
			rest = append(rest, m.charts(w, lay.charts)...)
		}
		rest = append(rest, rule)
		rest = append(rest, m.logLines(w, lay.logRows+1)...)
	}
	for len(rest) < body {
		rest = append(rest, "")
	}
	lines = append(lines, rest[:body]...)
	lines = append(lines, m.footer(w))
	for i := range lines {
		lines[i] = fit(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

func (m Model) headerLine(w int) string {
	s := m.snap
	phase := "starting the tier"
	switch {
	case s.Done:
		phase = "finished"
	case s.Phase != "" && w < 120:
		phase = m.st.bold.Render(s.Phase)
	case s.Phase != "":
		phase = "phase " + m.st.bold.Render(s.Phase)
	case s.Up:
		phase = "waiting for the group to be InService"
	}
	left := fmt.Sprintf("%s %s · %s · AWS %s · wall %s · speed %g× · offered %.0f/s · achieved %.0f/s",
		m.st.title.Render("lab"), s.Scenario, phase, awsTime(s.AWS), wallTime(s.Wall), s.Speed, s.Offered, s.Achieved)
	if w < 120 {
		left = fmt.Sprintf("%s %s · %s · AWS %s (%s) · %g× · %.0f→%.0f req/s",
			m.st.title.Render("lab"), s.Scenario, phase, awsTime(s.AWS), wallTime(s.Wall), s.Speed, s.Offered, s.Achieved)
	}
	var right string
	switch {
	case m.gone != "":
		right = m.st.bad.Render("○ DISCONNECTED")
	case s.Done:
		right = m.st.verdict(s.Verdict)
	case m.stopping:
		right = m.st.warn.Render("■ STOPPING")
	case m.paused:
		right = m.st.warn.Render("‖ PAUSED")
	case m.opts.Watch:
		right = m.st.ok.Render("◉ WATCHING")
	default:
		right = m.st.ok.Render("● LIVE")
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return fit(left, w-ansi.StringWidth(right)-1) + " " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

// sloLines lays the SLO badges out on at most rows lines.
func (m Model) sloLines(w, rows int) []string {
	if len(m.snap.SLOs) == 0 {
		return []string{m.st.dim.Render("SLOs: none")}
	}
	var lines []string
	cur := "SLOs "
	for _, b := range m.snap.SLOs {
		badge := fmt.Sprintf("%s %s %s %s", m.st.slo(b.Status), b.Status, b.Expr, m.st.dim.Render("("+b.Observed+")"))
		if ansi.StringWidth(cur)+3+ansi.StringWidth(badge) > w && cur != "SLOs " {
			lines = append(lines, cur)
			cur = "     "
		}
		if cur == "SLOs " || cur == "     " {
			cur += badge
		} else {
			cur += "   " + badge
		}
	}
	lines = append(lines, cur)
	if len(lines) > rows {
		lines = lines[:rows]
	}
	return lines
}

// zoneColumns draws a column per zone: its node, then two lines per instance.
func (m Model) zoneColumns(w, rows int) []string {
	zs := m.snap.Zones
	if len(zs) == 0 {
		return []string{m.st.dim.Render("The tier is starting: no zone is up yet.")}
	}
	sep := m.st.dim.Render(" │ ")
	cw := (w - 3*(len(zs)-1)) / len(zs)
	cols := make([][]string, len(zs))
	for i, z := range zs {
		c := []string{m.nodeLine(z, true), "  " + m.nodeState(z.Node, true)}
		shown := 0 // instances whose lines all fit
		for _, in := range z.Instances {
			c = append(c, m.instanceLine(in), "  "+m.cpuLine(in, min(14, cw-30), true))
			if in.Views != nil {
				c = append(c, "  "+m.viewsLine(in.Views))
			}
			if len(c) <= rows {
				shown++
			}
		}
		if len(z.Instances) == 0 {
			c = append(c, m.st.dim.Render("no instances"))
		}
		if len(c) > rows {
			c = append(c[:rows-1], m.st.dim.Render(fmt.Sprintf("… %d more instance(s)", max(len(z.Instances)-shown, 1))))
		}
		cols[i] = c
	}
	out := make([]string, rows)
	for r := range out {
		parts := make([]string, len(cols))
		for i, c := range cols {
			if r < len(c) {
				parts[i] = fit(c[r], cw)
			} else {
				parts[i] = strings.Repeat(" ", cw)
			}
		}
		out[r] = strings.Join(parts, sep)
	}
	return out
}

// nodeLine is the zone's name and its node's address (wide), or the zone's
// short name and its node's state (narrow).
func (m Model) nodeLine(z Zone, wide bool) string {
	if !wide {
		return m.st.bold.Render(shortZone(z.Name)) + " " + m.nodeState(z.Node, false)
	}
	s := m.st.bold.Render(z.Name)
	if z.Node.Addr != "" {
		s += "  node " + z.Node.Addr
	}
	return s
}

// nodeState is what the node sees and does: the targets it sees healthy and
// unhealthy, failing open, down, and whether DNS hands it out.
func (m Model) nodeState(n Node, wide bool) string {
	var s string
	switch {
	case n.Down:
		s = m.st.bad.Render("down")
		if wide {
			s += m.st.dim.Render(", not checking")
		}
	default:
		if wide {
			s = "sees "
		}
		s += m.st.ok.Render(fmt.Sprintf("●%d", n.Healthy)) + " " + m.st.bad.Render(fmt.Sprintf("✗%d", n.Unhealthy))
		if n.FailOpen {
			s += " " + m.st.warn.Render("fail open")
		}
	}
	sep := " "
	if wide {
		sep = m.st.dim.Render(" · ")
	}
	switch {
	case n.DNS == DNSIn && n.Down:
		s += sep + m.st.warn.Render("still in DNS")
	case n.DNS == DNSIn:
		s += sep + m.st.dim.Render("in DNS")
	case n.DNS == DNSOut:
		s += sep + m.st.bad.Render("out of DNS")
	}
	return s
}

// viewsRows is the lines an instance's differing views take.
func viewsRows(in Instance) int {
	if in.Views != nil {
		return 1
	}
	return 0
}

// viewStates orders the states in a views-differ line.
var viewStates = []string{"healthy", "initial", "unhealthy", "draining", "unused", ""}

// viewsLine says how the nodes' views of a target differ, the nodes of
// each state together: "views differ: 1a 1c healthy, 1b unhealthy".
func (m Model) viewsLine(views map[string]string) string {
	nodes := make([]string, 0, len(views))
	for n := range views {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	states := slices.Clone(viewStates)
	for _, n := range nodes {
		if !slices.Contains(states, views[n]) {
			states = append(states, views[n])
		}
	}
	var parts []string
	for _, st := range states {
		var on []string
		for _, n := range nodes {
			if views[n] == st {
				on = append(on, shortZone(n))
			}
		}
		if len(on) > 0 {
			name := st
			if name == "" {
				name = "no view"
			}
			parts = append(parts, strings.Join(on, " ")+" "+name)
		}
	}
	return m.st.warn.Render("views differ: ") + strings.Join(parts, ", ")
}

// shortZone is a zone's letter with its digit: us-east-1a -> 1a.
func shortZone(z string) string { return z[max(0, len(z)-2):] }

func (m Model) instanceLine(in Instance) string {
	s := fmt.Sprintf("%s %s %s", in.ID, fit(m.st.lifecycle(in.State), 11), m.st.health(in.Health))
	if in.Nodes > 0 && in.HealthyOn != in.Nodes {
		s += m.st.dim.Render(fmt.Sprintf(" %d/%d", in.HealthyOn, in.Nodes))
	}
	return s
}

// cpuLine is the CPU bar against the alarms' thresholds, and the health reason.
func (m Model) cpuLine(in Instance, bw int, reason bool) string {
	bw = max(bw, 6)
	var s string
	if !in.HasCPU {
		s = m.st.dim.Render(strings.Repeat("·", bw)) + "   -"
	} else {
		bar := string(cpuBar(in.CPU, bw, m.snap.CPUThresholds))
		st := m.st.ok
		for _, t := range m.snap.CPUThresholds {
			if t >= 50 && in.CPU > t {
				st = m.st.bad
			}
		}
		s = st.Render(bar) + fmt.Sprintf(" %3.0f%%", in.CPU)
	}
	if reason && in.Reason != "" && in.Health != "healthy" {
		s += " " + m.st.dim.Render(in.Reason)
	}
	return "CPU " + s
}

// zoneTable is the narrow form: the nodes on one line, then a line per instance.
func (m Model) zoneTable(w, rows int) []string {
	zs := m.snap.Zones
	if len(zs) == 0 {
		return []string{m.st.dim.Render("The tier is starting: no zone is up yet.")}
	}
	var nodes []string
	for _, z := range zs {
		nodes = append(nodes, m.nodeLine(z, false))
	}
	out := []string{"nodes  " + strings.Join(nodes, m.st.dim.Render(" │ "))}
	var ins []string
	var starts []int // where each instance's lines start in ins
	for _, z := range zs {
		for _, in := range z.Instances {
			starts = append(starts, len(ins))
			ins = append(ins, fmt.Sprintf("%s %s %s %s %s", shortZone(z.Name), in.ID, fit(m.st.lifecycle(in.State), 11),
				fit(m.st.health(in.Health), 11), m.cpuLine(in, 12, true)))
			if in.Views != nil {
				ins = append(ins, "   "+m.viewsLine(in.Views))
			}
		}
	}
	if len(ins) == 0 {
		ins = append(ins, m.st.dim.Render("no instances"))
	}
	if len(ins) > rows-1 {
		keep := rows - 2
		more := len(starts) - sort.SearchInts(starts, keep) // instances starting past the kept lines
		ins = append(ins[:keep], m.st.dim.Render(fmt.Sprintf("… %d more instance(s)", max(more, 1))))
	}
	return append(out, ins...)
}

func (m Model) groupLine(w int) string {
	g := m.snap.Group
	if g.Name == "" {
		return m.st.bold.Render("Auto Scaling group") + m.st.dim.Render("  starting")
	}
	title := "Auto Scaling group"
	if w < 120 {
		title = "ASG"
	}
	return fmt.Sprintf("%s %s  min %d · desired %s · max %d   in service %s · pending %s · terminating %s",
		m.st.bold.Render(title), g.Name, g.Min, m.st.bold.Render(fmt.Sprint(g.Desired)), g.Max,
		m.st.ok.Render(fmt.Sprint(g.InService)), m.st.warn.Render(fmt.Sprint(g.Pending)), m.st.bad.Render(fmt.Sprint(g.Off))) + m.servicesText()
}

// servicesText is each service's group and traffic after the group line,
// on a stack with several: "   api 2/2 healthy 2 · 1234 req · 0 5xx".
func (m Model) servicesText() string {
	var b strings.Builder
	for _, sv := range m.snap.Group.Services {
		fmt.Fprintf(&b, "   %s %d/%d healthy %d · %d req · %d 5xx", m.st.bold.Render(sv.Name), sv.InService, sv.Desired, sv.Healthy, sv.Requests, sv.Errors5xx)
		if sv.HasCPU {
			fmt.Fprintf(&b, " · CPU %.0f%%", sv.CPU)
		}
	}
	return b.String()
}

// alarmLines are the alarms, each with its state and what its policy will
// do next: a line each when rows allow, else all on one line, briefly.
func (m Model) alarmLines(w, rows int) []string {
	if len(m.snap.Alarms) == 0 {
		return []string{m.st.bold.Render("Alarms") + m.st.dim.Render("  none yet")}
	}
	desc := func(a Alarm) string {
		metric := a.Metric
		if metric == "CPUUtilization" {
			metric = "CPU"
		}
		return fmt.Sprintf("%s %s (%s %s %g)", m.st.alarm(a.State), a.Name, metric, a.Comparison, a.Threshold)
	}
	if rows <= 1 {
		var parts []string
		for _, a := range m.snap.Alarms {
			part := desc(a)
			if next := nextAction(a, m.snap.Group); next.Short != "nothing" {
				part += m.st.dim.Render(" → " + next.Short)
			}
			parts = append(parts, part)
		}
		return []string{m.st.bold.Render("Alarms") + "  " + strings.Join(parts, "   ")}
	}
	var out []string
	for i, a := range m.snap.Alarms {
		title := "      "
		if i == 0 {
			title = m.st.bold.Render("Alarms")
		}
		if len(out) == rows-1 && len(m.snap.Alarms) > rows {
			out = append(out, title+"  "+m.st.dim.Render(fmt.Sprintf("… %d more alarm(s)", len(m.snap.Alarms)-i)))
			break
		}
		next := nextAction(a, m.snap.Group)
		st := m.st.dim.Render
		if a.State == "ALARM" {
			st = m.st.warn.Render
		}
		out = append(out, title+"  "+desc(a)+st(" → "+next.Text))
	}
	return out
}

// chartZones are the zones the in-service charts show: the snapshot's,
// else the history's.
func (m Model) chartZones() []string {
	var zs []string
	for _, z := range m.snap.Zones {
		zs = append(zs, z.Name)
	}
	if len(zs) == 0 {
		for z := range m.snap.History.InService {
			zs = append(zs, z)
		}
		sort.Strings(zs)
	}
	return zs
}

// Glyphs of the marks row.
const (
	glyphScaleOut = "▲"
	glyphScaleIn  = "▼"
	glyphFault    = "↯"
)

// marksLine draws History.Marks under the charts, one cell a second,
// right-aligned like the sparklines.
func marksLine(marks string, w int) string {
	if len(marks) > w {
		marks = marks[len(marks)-w:]
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(marks)))
	for i := 0; i < len(marks); i++ {
		switch marks[i] {
		case MarkScaleOut:
			b.WriteString(glyphScaleOut)
		case MarkScaleIn:
			b.WriteString(glyphScaleIn)
		case MarkFault:
			b.WriteString(glyphFault)
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// charts are sparklines of the last seconds of load, n rows of them: the
// basic set (offered, ok, errors, p99) or all (with p50 and the instances
// in service per zone), and the marks of scaling and faults under them.
func (m Model) charts(w, n int) []string {
	h := m.snap.History
	sw := w - 24
	top := maxOf(tail(h.Offered, sw), tail(h.OK, sw), tail(h.Errors, sw))
	last := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		return v[len(v)-1]
	}
	row := func(label string, vals []float64, top float64, st func(...string) string, value string) string {
		return fmt.Sprintf("%-13s%s %s", label, st(sparkline(vals, sw, top)), value)
	}
	latTop := maxOf(tail(h.P99, sw), tail(h.P50, sw))
	out := []string{
		row("offered /s", h.Offered, top, m.st.info.Render, fmt.Sprintf("%6.0f", last(h.Offered))),
		row("ok /s", h.OK, top, m.st.ok.Render, fmt.Sprintf("%6.0f", last(h.OK))),
		row("errors /s", h.Errors, top, m.st.bad.Render, fmt.Sprintf("%6.0f", last(h.Errors))),
	}
	full := n > basicCharts
	if full {
		out = append(out, row("p50", h.P50, latTop, m.st.warn.Render, fmt.Sprintf("%6s", msText(last(h.P50)))))
	}
	out = append(out, row("p99", h.P99, latTop, m.st.warn.Render, fmt.Sprintf("%6s", msText(last(h.P99)))))
	if full {
		zs := m.chartZones()
		zTop := float64(m.snap.Group.Max)
		for _, z := range zs {
			zTop = max(zTop, maxOf(tail(h.InService[z], sw)))
		}
		for _, z := range zs {
			label := "in svc " + z[max(0, len(z)-2):]
			out = append(out, row(label, h.InService[z], zTop, m.st.ok.Render, fmt.Sprintf("%6.0f", last(h.InService[z]))))
		}
	}
	legend := glyphScaleOut + "up " + glyphScaleIn + "dn " + glyphFault + "flt"
	out = append(out, fmt.Sprintf("%-13s%s", legend, m.st.bad.Render(marksLine(h.Marks, sw))))
	return out
}

var classTags = [numClasses]string{"", "health", "scale", "alarm", "chaos", "load"}

// logLines is the event log (title and rows), or why the selected event happened.
func (m Model) logLines(w, rows int) []string {
	idx := m.byCls[m.filter]
	if m.detail {
		if e, ok := m.selected(); ok {
			out := []string{m.st.bold.Render("Why") + m.st.dim.Render(fmt.Sprintf("  +%s %s · enter or esc: back to the log", awsTime(e.At)[1:], classTags[e.Class]))}
			for _, l := range explain(e) {
				out = append(out, strings.Split(ansi.Wrap(l, w-2, " "), "\n")...)
			}
			return out
		}
	}
	title := fmt.Sprintf("%s  filter %s · %d event(s) · ↑↓ select · enter why",
		m.st.bold.Render("Events"), m.st.info.Render(fmt.Sprintf("[%d] %s", m.filter+1, classNames[m.filter])), len(idx))
	if !m.follow {
		title += m.st.warn.Render(" · scrolled back (end: newest)")
	}
	out := []string{title}
	n := rows - 1
	top := max(len(idx)-n, 0)
	sel := len(idx) - 1
	if !m.follow {
		sel = min(m.sel, len(idx)-1)
		top = min(max(sel-n/2, 0), max(len(idx)-n, 0))
	}
	for j := top; j < len(idx) && j < top+n; j++ {
		e := m.log[idx[j]]
		tag := m.tagStyle(e.Class)(fmt.Sprintf("%-6s", classTags[e.Class]))
		line := fmt.Sprintf(" %s %s %s", m.st.dim.Render(awsTime(e.At)), tag, e.Text)
		if j == sel && !m.follow {
			// a glyph as well as reverse video: NO_COLOR drops the reverse
			line = m.st.sel.Render(fit(fmt.Sprintf("▶%s %-6s %s", awsTime(e.At), classTags[e.Class], e.Text), w))
		}
		out = append(out, line)
	}
	if len(idx) == 0 {
		out = append(out, m.st.dim.Render("no events of this kind yet"))
	}
	return out
}

func (m Model) tagStyle(c int) func(...string) string {
	switch c {
	case ClassChaos:
		return m.st.bad.Render
	case ClassAlarms:
		return m.st.warn.Render
	case ClassScaling:
		return m.st.info.Render
	case ClassLoad:
		return m.st.ok.Render
	}
	return m.st.dim.Render
}

func (m Model) footer(w int) string {
	switch {
	case m.ask == askZone:
		var zs []string
		for i, z := range m.snap.Zones {
			zs = append(zs, m.st.bold.Render(zoneKey(z.Name, i))+" "+z.Name)
		}
		return m.st.warn.Render("Take a zone out (AZ power interruption, 10 AWS minutes): ") + strings.Join(zs, " · ") + m.st.dim.Render(" · any other key cancels")
	case m.ask == askConfirm:
		n := 0
		for _, z := range m.snap.Zones {
			if z.Name == m.zone {
				for _, in := range z.Instances {
					if in.State == "InService" || in.State == "Pending" {
						n++
					}
				}
			}
		}
		return m.st.warn.Render(fmt.Sprintf("Take %s out (%d instance(s) stop, node down, no launches, 10 AWS min)? y/n", m.zone, n))
	case m.gone != "":
		return m.st.warn.Render("Watching: " + m.gone + ". q closes the view.")
	case m.snap.Done && m.opts.Watch:
		return m.st.bold.Render("The run has ended: q closes the view; the summary is in the run directory.")
	case m.snap.Done:
		return m.st.bold.Render("The run has ended: q closes the view and prints the summary.")
	case m.stopping:
		return m.st.warn.Render("Stopping the run: reverting faults, terminating instances… (q again closes the view at once)")
	}
	keys := "q quit · p pause · ? help · ↑↓ PgUp PgDn select · enter why · 1-6 f filter"
	switch {
	case m.opts.Watch:
		keys = "watching, read-only · q close · p pause · ? help · ↑↓ PgUp PgDn select · enter why · 1-6 f filter"
	case m.opts.Kill != nil && w >= 120:
		keys += " · k kill an instance · z zone out"
	case m.opts.Kill != nil:
		keys = "q quit · p pause · ? help · ↑↓ select · enter why · 1-6 filter · k kill · z zone"
	}
	return m.st.dim.Render(keys)
}

func (m Model) helpLines(w int) []string {
	q := "  q, Ctrl-C     stop the run (faults are reverted, instances terminated); the summary prints after the view closes"
	if m.opts.Watch {
		q = "  q, Ctrl-C     close this view (read-only: the run goes on in its own terminal)"
	}
	keys := []string{
		m.st.bold.Render("Keys"),
		q,
		"  p             pause or resume the view (the run goes on; nothing is lost)",
		"  ↑ ↓           select an event;  PgUp PgDn a page;  Home, End  oldest, newest",
		"  enter         why the selected event happened (alarm evaluations, scaling causes, reason codes); esc back",
		"  1-6, f        filter the log: 1 all, 2 target health, 3 scaling, 4 alarms, 5 chaos, 6 load; f cycles",
	}
	if m.opts.Kill != nil && !m.opts.Watch {
		keys = append(keys,
			"  k             kill a random running instance now (a kill-instance fault: journalled in chaos.jsonl, in the log)",
			"  z             take a zone out: pick its letter, confirm with y; an az-outage fault for ten AWS minutes",
			"                (as FIS: instances stop, launches fail, its subnets drop packets for 2m; its load-balancer node stays up)")
	}
	keys = append(keys, "  ?             this help", "")
	return append(keys,
		m.st.bold.Render("Glyphs"),
		"  target health  "+m.st.health("healthy")+"  "+m.st.health("initial")+"  "+m.st.health("unhealthy")+"  "+m.st.health("draining")+"  "+m.st.health("unused"),
		"  nodes          ●n ✗n targets the node sees healthy, unhealthy; fail open (below unhealthy_state_routing); in DNS or out of DNS;",
		"                 down (its zone failed: no checks, no routing; still in DNS until the failure detector acts)",
		"  views differ   the nodes' gossiped views of a target disagree: each node's state of it",
		"  SLOs           "+m.st.slo(Holding)+" holding  "+m.st.slo(AtRisk)+" at risk (the last 10 s fail it, or a latency is near)  "+m.st.slo(Breached)+" breached  "+m.st.slo(Pending)+" pending",
		"  alarms         "+m.st.alarm("OK")+"  "+m.st.alarm("ALARM")+"  "+m.st.alarm("INSUFFICIENT_DATA"),
		"  CPU            █ used, │ an alarm's threshold; measured against the instance's CPU share",
		"  charts         a cell a second, newest on the right; under them "+glyphScaleOut+" scale-out, "+glyphScaleIn+" scale-in, "+glyphFault+" a fault",
		"  alarms' →      what the alarm's policy does at its next evaluation, by the group's desired, min, max and warm-up",
		"",
		m.st.dim.Render("Latency SLOs marked ≈ are estimated live from per-second quantiles; the summary computes them exactly."),
		m.st.dim.Render("Times are AWS time since the start (+mm:ss); wall is real time. Set NO_COLOR for no colour."),
	)
}

// awsTime is +mm:ss, or +h:mm:ss past an hour.
func awsTime(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("+%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("+%02d:%02d", s/60, s%60)
}

func wallTime(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func msText(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2fs", v/1000)
	}
	return fmt.Sprintf("%.0fms", v)
}
