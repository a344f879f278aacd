package report

import (
	"time"

	"github.com/simplydone/lab/rundir"
)

// RunInfo says what ran.
type RunInfo struct {
	RunID       string  `json:"run_id"`
	Scenario    string  `json:"scenario"`
	Stack       string  `json:"stack"`
	Seed        uint64  `json:"seed"`
	Speed       float64 `json:"speed"`
	Driver      string  `json:"driver"`
	WallSeconds float64 `json:"wall_seconds"`
	AWSSeconds  float64 `json:"aws_seconds"`
	AWSStart    string  `json:"aws_start,omitempty"` // AWS time the run started, RFC 3339
	Verdict     string  `json:"verdict"`
	Reason      string  `json:"reason,omitempty"`
}

// SLORow is one SLO as judged.
type SLORow struct {
	Expr     string `json:"expr"`
	Observed string `json:"observed"`
	Pass     bool   `json:"pass"`
	Margin   string `json:"margin"`
}

// Validity says whether the load generator held its schedule.
type Validity struct {
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	AchievedPct float64 `json:"achieved_pct"`
	LagP99Ms    float64 `json:"lag_p99_ms"`
	Invalid     bool    `json:"invalid"`
	Note        string  `json:"note"`
	Host        string  `json:"host,omitempty"` // whether the host gave the instances their CPU shares
}

// Totals are the whole run's figures from summary.json.
type Totals struct {
	Requests     int     `json:"requests"`
	SuccessRate  float64 `json:"success_rate"`
	P50          float64 `json:"p50"`
	P95          float64 `json:"p95"`
	P99          float64 `json:"p99"`
	Max          float64 `json:"max"`
	Errors       []KV    `json:"errors"`
	InServiceMin int     `json:"in_service_min"`
	InServiceMax int     `json:"in_service_max"`
	Launches     int     `json:"launches"`
	Terminations int     `json:"terminations"`
	ScaleOuts    int     `json:"scale_outs"`
	ScaleIns     int     `json:"scale_ins"`
	Replacements int     `json:"replacements"`
	Faults       int     `json:"faults_injected"`
	Reverted     int     `json:"faults_reverted"`
	AckWrites    int     `json:"acknowledged_writes"`
	LostWrites   int     `json:"lost_writes"`
	// WritesCheckedOn is the DB instance lost_writes was checked on.
	WritesCheckedOn string `json:"writes_checked_on,omitempty"`
	CheckedReads    int    `json:"checked_reads"`
	StaleReads      int    `json:"stale_reads"`
	// DBFailovers and DBErrorWindow (AWS s) are the database's failovers
	// and the longest client-side outage over one (rundir.Summary).
	DBFailovers   int     `json:"db_failovers,omitempty"`
	DBErrorWindow float64 `json:"db_error_window_seconds,omitempty"`
	// DBPromotions counts read replica promotions (not failovers).
	DBPromotions int `json:"db_promotions,omitempty"`
	// DBOverruns say which failovers ran past RDS's documented time
	// because of the lab's speed (rundir.DBFailoverOverrun.Sentence).
	DBOverruns []string `json:"db_overruns,omitempty"`
	// Sessions is the users' session state (carts), when the mix had any.
	Sessions *rundir.Sessions `json:"sessions,omitempty"`
	// Services are each service's figures, on a stack with several.
	Services []rundir.ServiceSummary `json:"services,omitempty"`
	// WritesNotChecked says why the writes were not checked (rundir.Summary).
	WritesNotChecked string `json:"writes_not_checked,omitempty"`
}

// KV is a labelled count.
type KV struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

func validity(s Summary) Validity {
	v := Validity{OfferedRPS: r1(s.OfferedRate), AchievedRPS: r1(s.AchievedRate), LagP99Ms: r3(s.LagP99Ms), Invalid: s.Invalid}
	if s.OfferedRate > 0 {
		v.AchievedPct = r1(100 * s.AchievedRate / s.OfferedRate)
	}
	if s.Invalid {
		v.Note = "The load generator did not hold its schedule: the numbers below prove nothing about the tier."
	} else {
		v.Note = "The load generator held its schedule: the tier saw the load the scenario asked for."
	}
	v.Host = hostNote(s.Host)
	return v
}

// runInfo says what ran, from summary.json and the journal's start.
func (a *analysis) runInfo() RunInfo {
	s := a.run.Summary
	ri := RunInfo{RunID: s.RunID, Scenario: s.Scenario, Stack: s.Stack, Seed: s.Seed, Speed: s.Speed, Driver: s.Driver,
		WallSeconds: r1(s.WallSeconds), AWSSeconds: r1(s.AWSSeconds), Verdict: s.Verdict, Reason: s.Reason}
	if !a.t0.IsZero() {
		ri.AWSStart = a.t0.UTC().Format(time.RFC3339)
	}
	return ri
}

// sloRows are the SLOs as summary.json judged them.
func sloRows(s Summary) []SLORow {
	var rows []SLORow
	for _, o := range s.SLOs {
		shown := o.Shown
		if shown == "" {
			shown = trimNum(o.Observed)
		}
		margin := o.MarginShown
		if margin == "" {
			margin = signed(o.Margin)
		}
		rows = append(rows, SLORow{Expr: o.Expr, Observed: shown, Pass: o.Pass, Margin: margin})
	}
	return rows
}

func overrunSentences(os []rundir.DBFailoverOverrun) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.Sentence())
	}
	return out
}

// totals are the whole run's figures from summary.json.
func totals(s Summary) Totals {
	return Totals{Requests: s.Requests, SuccessRate: r3(s.SuccessRate), P50: r3(s.Latency.P50), P95: r3(s.Latency.P95),
		P99: r3(s.Latency.P99), Max: r3(s.Latency.Max),
		Errors: []KV{{"HTTP 4xx", int64(s.Errors.HTTP4xx)}, {"HTTP 5xx", int64(s.Errors.HTTP5xx)}, {"transport", int64(s.Errors.Transport)},
			{"ELB 502", s.Errors.ELB502}, {"ELB 503", s.Errors.ELB503}, {"ELB 504", s.Errors.ELB504}, {"target 5xx", s.Errors.Target5xx}},
		InServiceMin: s.InService.Min, InServiceMax: s.InService.Max,
		Launches: s.ScalingActivities.Launches, Terminations: s.ScalingActivities.Terminations,
		ScaleOuts: s.ScalingActivities.ScaleOuts, ScaleIns: s.ScalingActivities.ScaleIns, Replacements: s.ScalingActivities.Replacements,
		Faults: s.Faults.Injected, Reverted: s.Faults.Reverted, AckWrites: s.AcknowledgedWrites, LostWrites: s.LostWrites,
		WritesCheckedOn: s.WritesCheckedOn, WritesNotChecked: s.WritesNotChecked, CheckedReads: s.CheckedReads, StaleReads: s.StaleReads, Sessions: s.Sessions, Services: s.Services,
		DBFailovers: s.DBFailovers, DBErrorWindow: r1(s.DBErrorWindowSeconds), DBPromotions: s.DBPromotions, DBOverruns: overrunSentences(s.DBFailoverOverruns)}
}
