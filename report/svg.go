package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartW = 960.0
	chartH = 250.0
	padL   = 58.0
	padR   = 14.0
	padT   = 22.0
	padB   = 34.0
)

type plot struct {
	xmax       float64
	ymin, ymax float64
	log        bool
}

func (p plot) x(v float64) float64 {
	if p.xmax <= 0 {
		return padL
	}
	return padL + (v/p.xmax)*(chartW-padL-padR)
}

func (p plot) y(v float64) float64 {
	h := chartH - padT - padB
	if p.log {
		if v <= 0 {
			v = p.ymin
		}
		f := (math.Log10(v) - math.Log10(p.ymin)) / (math.Log10(p.ymax) - math.Log10(p.ymin))
		return padT + h*(1-clamp01(f))
	}
	f := (v - p.ymin) / (p.ymax - p.ymin)
	return padT + h*(1-clamp01(f))
}

func clamp01(f float64) float64 { return math.Max(0, math.Min(1, f)) }

// f1 prints a coordinate with one decimal at most.
func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// renderChart draws a chart as inline SVG: phases shaded, markers as
// vertical lines, series as lines or stacked areas, reference lines.
func renderChart(c Chart, xmax float64, phases []Span, markers []Marker) template.HTML {
	p := plot{xmax: xmax}
	// y range
	var lo, hi = math.Inf(1), math.Inf(-1)
	var stackTop []float64 // the stacked areas' total per point
	for _, s := range c.Series {
		if s.Area {
			if stackTop == nil {
				stackTop = make([]float64, len(s.Pts))
			}
			for i, pt := range s.Pts {
				if i < len(stackTop) {
					stackTop[i] += pt[1]
				}
			}
			continue
		}
		for _, pt := range s.Pts {
			if c.LogY && pt[1] <= 0 {
				continue
			}
			lo, hi = math.Min(lo, pt[1]), math.Max(hi, pt[1])
		}
	}
	for _, v := range stackTop {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for _, h := range c.HLines {
		lo, hi = math.Min(lo, h.Y), math.Max(hi, h.Y)
	}
	var yticks []float64
	if c.LogY {
		p.log = true
		if math.IsInf(lo, 0) {
			lo, hi = 1, 10
		}
		p.ymin = math.Pow(10, math.Floor(math.Log10(lo)))
		p.ymax = math.Pow(10, math.Ceil(math.Log10(hi)))
		if p.ymax <= p.ymin {
			p.ymax = p.ymin * 10
		}
		for v := p.ymin; v <= p.ymax*1.0001; v *= 10 {
			yticks = append(yticks, v)
		}
	} else {
		if math.IsInf(hi, 0) || hi <= 0 {
			hi = 1
		}
		top := hi * 1.05
		if c.YTop > 0 && hi <= c.YTop {
			top = c.YTop
		}
		step := niceStep(top, 5)
		p.ymin, p.ymax = 0, math.Ceil(top/step-1e-9)*step
		for v := 0.0; v <= p.ymax+step/2; v += step {
			yticks = append(yticks, v)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s">`, chartW, chartH, html.EscapeString(c.Title))
	x0, x1, y0, y1 := padL, chartW-padR, padT, chartH-padB
	// phases
	for i, ph := range phases {
		cls := "ph0"
		if i%2 == 1 {
			cls = "ph1"
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>phase %s</title></rect>`,
			cls, f1(p.x(ph.Start)), f1(y0), f1(math.Max(0, p.x(ph.End)-p.x(ph.Start))), f1(y1-y0), html.EscapeString(ph.Name))
		if p.x(ph.End)-p.x(ph.Start) > 30 {
			fmt.Fprintf(&b, `<text class="phl" x="%s" y="%s">%s</text>`, f1(p.x(ph.Start)+3), f1(y0+10), html.EscapeString(ph.Name))
		}
	}
	// grid and axes
	for _, v := range yticks {
		y := p.y(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>`, f1(x0), f1(x1), f1(y), f1(y))
		fmt.Fprintf(&b, `<text class="yt" x="%s" y="%s">%s</text>`, f1(x0-5), f1(y+3.5), tickLabel(v))
	}
	xstep := niceStep(math.Max(xmax, 0.1), 12)
	for v := 0.0; v <= xmax+1e-9; v += xstep {
		x := p.x(v)
		fmt.Fprintf(&b, `<line class="xg" x1="%s" x2="%s" y1="%s" y2="%s"/>`, f1(x), f1(x), f1(y1), f1(y1+4))
		fmt.Fprintf(&b, `<text class="xt" x="%s" y="%s">%s</text>`, f1(x), f1(y1+15), trimNum(v))
	}
	fmt.Fprintf(&b, `<text class="xl" x="%s" y="%s">AWS minutes since the run started</text>`, f1((x0+x1)/2), f1(chartH-3))
	fmt.Fprintf(&b, `<text class="yl" x="12" y="%s" transform="rotate(-90 12 %s)">%s</text>`, f1((y0+y1)/2), f1((y0+y1)/2), html.EscapeString(c.YLabel))
	// stacked areas
	if stackTop != nil {
		var base []float64
		for _, s := range c.Series {
			if !s.Area || len(s.Pts) == 0 {
				continue
			}
			if base == nil {
				base = make([]float64, len(s.Pts))
			}
			top := make([]float64, len(s.Pts))
			for i, pt := range s.Pts {
				top[i] = base[min(i, len(base)-1)] + pt[1]
			}
			var d strings.Builder
			for i, pt := range s.Pts {
				cmd := "L"
				if i == 0 {
					cmd = "M"
					fmt.Fprintf(&d, "M%s,%s", f1(p.x(pt[0])), f1(p.y(top[i])))
					continue
				}
				if s.Step {
					fmt.Fprintf(&d, "H%s", f1(p.x(pt[0])))
				}
				fmt.Fprintf(&d, "%s%s,%s", cmd, f1(p.x(pt[0])), f1(p.y(top[i])))
			}
			for i := len(s.Pts) - 1; i >= 0; i-- {
				if s.Step && i < len(s.Pts)-1 {
					fmt.Fprintf(&d, "V%s", f1(p.y(base[i])))
				}
				fmt.Fprintf(&d, "L%s,%s", f1(p.x(s.Pts[i][0])), f1(p.y(base[i])))
			}
			fmt.Fprintf(&b, `<path class="area" d="%sZ" fill="%s"><title>%s</title></path>`, d.String(), s.Color, html.EscapeString(s.Name))
			base = top
		}
	}
	// reference lines
	for _, h := range c.HLines {
		y := p.y(h.Y)
		fmt.Fprintf(&b, `<line class="ref" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, f1(x0), f1(x1), f1(y), f1(y), h.Color)
		fmt.Fprintf(&b, `<text class="refl" x="%s" y="%s" fill="%s">%s</text>`, f1(x1-3), f1(y-3), h.Color, html.EscapeString(h.Label))
	}
	// lines
	for _, s := range c.Series {
		if s.Area || len(s.Pts) == 0 {
			continue
		}
		var d strings.Builder
		for i, pt := range s.Pts {
			if i == 0 {
				fmt.Fprintf(&d, "M%s,%s", f1(p.x(pt[0])), f1(p.y(pt[1])))
				continue
			}
			if s.Step {
				fmt.Fprintf(&d, "H%sV%s", f1(p.x(pt[0])), f1(p.y(pt[1])))
				continue
			}
			fmt.Fprintf(&d, "L%s,%s", f1(p.x(pt[0])), f1(p.y(pt[1])))
		}
		cls := "ln"
		if s.Dash {
			cls += " dash"
		}
		if s.Wide {
			cls += " wide"
		}
		fmt.Fprintf(&b, `<path class="%s" d="%s" stroke="%s"><title>%s</title></path>`, cls, d.String(), s.Color, html.EscapeString(s.Name))
	}
	// markers
	for _, m := range markers {
		x := p.x(m.At)
		col := markColors[m.Kind]
		glyph := markGlyphs[m.Kind]
		label := m.Label
		if m.Run != "" {
			glyph = m.Run + glyph
			label = m.Run + ": " + label
		}
		fmt.Fprintf(&b, `<g class="mk"><title>%s %s</title><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/><text x="%s" y="%s" fill="%s">%s</text></g>`,
			clockAt(m.At*60), html.EscapeString(label), f1(x), f1(x), f1(y0), f1(y1), col, f1(x), f1(y0-4), col, html.EscapeString(glyph))
	}
	fmt.Fprintf(&b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>`, f1(x0), f1(y0), f1(x1-x0), f1(y1-y0))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceStep is a 1-2-5 step giving at most n intervals over span.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return trimNum(v/1e6) + "M"
	case v >= 1e4:
		return trimNum(v/1e3) + "k"
	}
	return trimNum(v)
}
