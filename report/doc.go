// Package report turns a run directory into report.html: one self-contained
// page (inline CSS and SVG, no script, no network) with the verdict, the
// validity checks, a timeline of phases, faults and scaling, charts over AWS
// time, time-to-scale, per-phase and per-zone tables, a latency distribution
// and the stack and scenario as run. It also compares two runs.
//
// The report reads only what a run directory keeps: summary.json,
// seconds.jsonl, events.jsonl, stack.yaml and scenario.yaml (chaos.jsonl is
// mirrored in events.jsonl). Everything is derived deterministically from
// them: the same directory gives the same bytes.
//
//	report.WriteRunReport(dir)                     // dir/report.html
//	c, err := report.WriteCompare(a, b, "x.html")  // a comparison page; c.WriteText(os.Stdout) for the terminal
package report
