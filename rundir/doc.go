// Package rundir is the schema of a run directory: the files `lab run`
// writes (summary.json, seconds.jsonl, events.jsonl, ...) and the types of
// their records. The lab writes them; the report, the TUI and the exporter
// read them; this package is the one place their shape is written down.
package rundir

// The files of a run directory.
const (
	SummaryFile  = "summary.json"
	SecondsFile  = "seconds.jsonl"
	EventsFile   = "events.jsonl"
	ChaosFile    = "chaos.jsonl"
	StackFile    = "stack.yaml"
	ScenarioFile = "scenario.yaml"
	ReportFile   = "report.html"
)
