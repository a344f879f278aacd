package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
)

//go:embed report.css
var css string

//go:embed report.html.tmpl
var reportTmpl string

var funcs = template.FuncMap{
	"css": func() template.CSS { return template.CSS(css) },
	"ms":  fmtMs,
	"num": trimNum,
	"pct": func(v float64) string { return trimNum(v) + "%" },
	"secs": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return trimNum(*p) + " s"
	},
	"verdictClass": func(v string) string { return strings.ToLower(v) },
	"mark":         func(pass bool) string { return map[bool]string{true: "✓", false: "✗"}[pass] },
	"glyph":        func(kind string) string { return markGlyphs[kind] },
	"color":        func(kind string) string { return markColors[kind] },
	"markKinds":    func() []string { return markOrder },
	"dash":         orDash,
	"mins":         func(m float64) string { return clockAt(m * 60) },
	"div60":        func(s float64) float64 { return s / 60 },
}

var pageTmpl = template.Must(template.New("report").Funcs(funcs).Parse(reportTmpl))

// view is what the template renders: the model and its drawn charts.
type view struct {
	*Report
	Drawn []drawnChart
}

type drawnChart struct {
	Chart
	SVG template.HTML
}

// Render writes the report as one HTML page.
func Render(w io.Writer, rep *Report) error {
	v := view{Report: rep}
	for _, c := range rep.Charts {
		v.Drawn = append(v.Drawn, drawnChart{Chart: c, SVG: renderChart(c, rep.XMax, rep.Phases, rep.Markers)})
	}
	return pageTmpl.ExecuteTemplate(w, "report", v)
}

// WriteRunReport reads a run directory and writes its report.html.
func WriteRunReport(runDir string) error {
	r, err := ReadRun(runDir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, Build(r)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return writeFile(filepath.Join(runDir, ReportFile), buf.Bytes())
}

// writeFile replaces a file atomically, so a reader never sees half a report.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// Owner-only: the report shows the stack, which holds environment values.
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
