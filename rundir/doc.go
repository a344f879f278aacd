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

// The files the load balancer and the metrics endpoint write.
const (
	// AccessLogFile is the load balancer's access log, one line per
	// request in the ALB's field order.
	AccessLogFile = "access.log"
	// PrometheusFile holds the URL of the run's Prometheus endpoint
	// (http://127.0.0.1:PORT/metrics) while the run is up.
	PrometheusFile = "prometheus.url"
)
