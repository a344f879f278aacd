package report

import (
	"fmt"

	"github.com/simplydone/lab/internal/figures"
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
	Database    *DBTier     `json:"database,omitempty"` // the data tier (database.go)

	// Assumptions are the figures the run relied on that AWS does not document.
	Assumptions []figures.Figure `json:"assumptions,omitempty"`

	StackYAML    string `json:"stack_yaml"`
	ScenarioYAML string `json:"scenario_yaml"`
}

// Build computes the report of a run: each section is computed in its own
// file (runinfo.go, markers.go, timeline.go, charts.go, scale.go, phases.go,
// zones.go, histogram.go, cost.go) from one analysis of the run (analysis.go).
func Build(r *Run) *Report {
	a := analyse(r)
	s := r.Summary
	return &Report{
		Title:    fmt.Sprintf("%s %s: %s on %s", s.Verdict, s.RunID, s.Scenario, s.Stack),
		Run:      a.runInfo(),
		SLOs:     sloRows(s),
		Validity: validity(s),
		Totals:   totals(s),

		XMax:     a.xmax,
		Phases:   a.phases,
		Markers:  a.markers,
		Timeline: a.timeline(),
		Charts:   a.charts(),

		TimeToScale: a.timeToScale(),
		PhaseRows:   a.phaseRows(),
		ZoneRows:    a.zoneRows(),
		Histogram:   a.histogram(),
		Cost:        a.cost(),
		Database:    a.dbTier(),

		Assumptions: s.Assumptions,

		StackYAML:    r.StackYAML,
		ScenarioYAML: r.ScenarioYAML,
	}
}
