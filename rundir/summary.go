package rundir

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/internal/termtext"
)

// Verdicts.
const (
	Pass        = "PASS"
	Fail        = "FAIL"
	Invalid     = "INVALID"
	Interrupted = "INTERRUPTED"
)

// DBFailoverOverrun is a Multi-AZ failover whose endpoint moved past RDS's
// documented failover time (AWS seconds from the failure).
type DBFailoverOverrun struct {
	DB         string  `json:"db"`
	At         float64 `json:"moved_at_seconds"`
	Documented float64 `json:"documented_seconds"`
	Detail     string  `json:"detail,omitempty"` // the tier's account of why (its own steps' wall time at the run's speed)
}

// Sentence says it for the summary and the report.
func (o DBFailoverOverrun) Sentence() string {
	s := fmt.Sprintf("the failover of %s moved its endpoint at %.1f s (AWS time), past RDS's documented %.0f s; the lab's speed made it longer, not RDS", o.DB, o.At, o.Documented)
	if o.Detail != "" {
		s += " (" + o.Detail + ")"
	}
	return s
}

// Summary is what a run concludes; it is written as summary.json (the
// README documents the schema).
type Summary struct {
	RunID       string  `json:"run_id"`
	Scenario    string  `json:"scenario"`
	Stack       string  `json:"stack"`
	Verdict     string  `json:"verdict"`
	Reason      string  `json:"reason,omitempty"`
	Seed        uint64  `json:"seed"`
	Speed       float64 `json:"speed"`
	Driver      string  `json:"driver"`
	WallSeconds float64 `json:"wall_seconds"`
	AWSSeconds  float64 `json:"aws_seconds"`

	SLOs []SLOResult `json:"slos"`

	Requests     int          `json:"requests"`
	SuccessRate  float64      `json:"success_rate"` // percent of requests not 5xx and not transport errors
	Latency      Latency      `json:"latency_ms"`
	Errors       ErrorClasses `json:"errors"`
	OfferedRate  float64      `json:"offered_rps"`
	AchievedRate float64      `json:"achieved_rps"`
	LagP99Ms     float64      `json:"lag_p99_ms"`
	Invalid      bool         `json:"invalid"`
	// Users is the most virtual users live at once when the load counted
	// users (the closed model): the offered rate is then what they sent,
	// less when the tier answered slowly. 0: the load was a schedule of
	// rates (the open model).
	Users int `json:"users,omitempty"`
	// CapacityScale is the factor every instance's CPU share and every
	// request's CPU cost were multiplied by (the scenario's capacity_scale);
	// 0 or 1: full size.
	CapacityScale float64 `json:"capacity_scale,omitempty"`

	InService          InService `json:"in_service"`
	ScalingActivities  Scaling   `json:"scaling_activities"`
	Faults             Faults    `json:"faults"`
	AcknowledgedWrites int       `json:"acknowledged_writes"`
	LostWrites         int       `json:"lost_writes"`
	// WritesCheckedOn is the DB instance lost_writes looked the writes up
	// on, "<identifier> (<role>)": the one the application writes to at the
	// end (the primary, or a promoted read replica it was repointed at), as
	// the groups' launch template versions name it at the end; when groups
	// disagree, the one most write to, then "; not checked: " and the
	// others; empty without a database.
	WritesCheckedOn string `json:"writes_checked_on,omitempty"`
	// WritesNotChecked, when set, says why the acknowledged writes were not
	// looked up at the end and the reads after them not checked: zones on
	// agents' hosts, each keeping its own SimplyDone store, so a write
	// acknowledged on one host is not found through another. lost_writes
	// then counts only the creates answered with another write's title,
	// and checked_reads and stale_reads are 0.
	WritesNotChecked string `json:"writes_not_checked,omitempty"`
	// Sessions is the users' session state (their carts), when the mix
	// sends cart requests.
	Sessions *Sessions `json:"sessions,omitempty"`
	// CheckedReads counts gets of acknowledged todos sent after the
	// acknowledgement; StaleReads those that did not show the todo.
	CheckedReads int `json:"checked_reads"`
	StaleReads   int `json:"stale_reads"`
	// DBFailovers counts the database's failovers (DBPromotions its read
	// replica promotions, which are not failovers: the source keeps its
	// endpoint); DBErrorWindowSeconds is the longest client-side outage
	// over one of them, in AWS seconds: a run of seconds in which at least
	// half the requests failed (5xx or no answer), its edges counted by
	// their failed share, so a stray failure in a healthy second does not
	// extend it (see lab's dbErrorWindow).
	DBFailovers          int     `json:"db_failovers,omitempty"`
	DBPromotions         int     `json:"db_promotions,omitempty"`
	DBErrorWindowSeconds float64 `json:"db_error_window_seconds,omitempty"`
	// DBFailoverOverruns are the Multi-AZ failovers whose endpoint moved
	// past RDS's documented failover time: the lab's own steps at the run's
	// speed (or a late timer on a busy host), not RDS's; as the load
	// generator's starved seconds, a figure the run cannot vouch for.
	DBFailoverOverruns []DBFailoverOverrun `json:"db_failover_overruns,omitempty"`

	// Assumptions are the figures the run relied on that AWS does not
	// document (observed, assumed, or set by the stack over such a default).
	Assumptions []figures.Figure `json:"assumptions,omitempty"`

	// Host is whether the host gave the instances their CPU shares over
	// the load (host.jsonl has each second).
	Host *Host `json:"host,omitempty"`
	// Services break traffic, health and scaling down per service, on a
	// stack with several (stack services:); absent with one.
	Services []ServiceSummary `json:"services,omitempty"`
	// Database is each DB instance's busiest AWS/RDS minutes (database.go).
	Database []DBPeak `json:"database,omitempty"`
	// LoadGenerators, when the load was sent from several hosts (a
	// scenario's load.generators), is each generator and its count of
	// requests; the run's figures merge their raw results (histograms and
	// counts, never averaged percentiles). Absent: the controller alone.
	LoadGenerators []LoadGenerator `json:"load_generators,omitempty"`
}

// LoadGenerator is one generator's share of a run's load: "controller" or
// the zone whose agent sent it, its requests, and its error if it stopped
// early or gave no results.
type LoadGenerator struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
	Error    string `json:"error,omitempty"`
}

// SLOResult is one SLO as judged.
type SLOResult struct {
	Expr     string  `json:"expr"`
	Observed float64 `json:"observed"`
	Shown    string  `json:"observed_text"`
	Pass     bool    `json:"pass"`
	Margin   float64 `json:"margin"`
	// MarginShown is the margin in the metric's unit ("+30s"); "" in a
	// summary written before it was.
	MarginShown string `json:"margin_text,omitempty"`
}

// Latency quantiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// ErrorClasses counts failed requests by class.
type ErrorClasses struct {
	HTTP4xx   int   `json:"http_4xx"`
	HTTP5xx   int   `json:"http_5xx"`
	Transport int   `json:"transport"`
	ELB502    int64 `json:"elb_502"`
	ELB503    int64 `json:"elb_503"`
	ELB504    int64 `json:"elb_504"`
	Target5xx int64 `json:"target_5xx"`
}

// InService is how many instances were in service, over the run.
type InService struct {
	Min     int               `json:"min"`
	Max     int               `json:"max"`
	PerZone map[string]MinMax `json:"per_zone"`
}

// MinMax is a range of counts.
type MinMax struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// ServiceSummary is one service of a stack with several: its target
// group's traffic as the load balancer routed it, its group's in-service
// range and scaling.
type ServiceSummary struct {
	Name      string `json:"name"`
	Requests  int64  `json:"requests"` // routed to its targets
	Target2xx int64  `json:"target_2xx"`
	Target4xx int64  `json:"target_4xx"`
	Target5xx int64  `json:"target_5xx"`
	// ELBErrors are the load balancer's own error answers for it: 503
	// without a target, 502 and 504 from a failed exchange (and 460, the
	// client gone first).
	ELBErrors int64   `json:"elb_errors"`
	InService MinMax  `json:"in_service"`
	Desired   int     `json:"desired_at_end"`
	Scaling   Scaling `json:"scaling_activities"`
}

// Scaling counts the group's activities.
type Scaling struct {
	Launches     int `json:"launches"`
	Terminations int `json:"terminations"`
	ScaleOuts    int `json:"scale_outs"` // desired capacity raised by a policy
	ScaleIns     int `json:"scale_ins"`  // desired capacity lowered by a policy
	Replacements int `json:"replacements"`
}

// Faults counts chaos.
type Faults struct {
	Injected int `json:"injected"`
	Reverted int `json:"reverted"`
}

// Write saves the summary as dir/summary.json.
func (s *Summary) Write(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, SummaryFile), append(b, '\n'), 0o600)
}

// WriteText prints the summary table a person reads at the end of a run.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\n%s  %s on %s (seed %d, speed %gx, %s), %.0f s wall = %s AWS\n",
		s.Verdict, s.Scenario, s.Stack, s.Seed, s.Speed, s.Driver, s.WallSeconds, time.Duration(s.AWSSeconds*float64(time.Second)).Round(time.Second))
	if s.Reason != "" {
		fmt.Fprintf(w, "  %s\n", termtext.Line(s.Reason)) // it may quote what an instance said
	}
	fmt.Fprintln(w, "\nSLOs")
	for _, r := range s.SLOs {
		mark := "✓"
		if !r.Pass {
			mark = "✗"
		}
		margin := r.MarginShown
		if margin == "" {
			margin = fmt.Sprintf("%+.4g", r.Margin)
		}
		fmt.Fprintf(w, "  %s %-28s observed %-10s margin %s\n", mark, r.Expr, r.Shown, margin)
	}
	fmt.Fprintln(w, "\nTraffic")
	fmt.Fprintf(w, "  requests %d, success %.2f%%, offered %.1f/s, achieved %.1f/s, send lag p99 %.1f ms\n",
		s.Requests, s.SuccessRate, s.OfferedRate, s.AchievedRate, s.LagP99Ms)
	if s.Users > 0 {
		fmt.Fprintf(w, "  the offered rate came from up to %d virtual users (closed model: each waits for its answer and thinks before its next request, so a slow tier is sent less)\n", s.Users)
	}
	if s.CapacityScale > 0 && s.CapacityScale != 1 {
		fmt.Fprintf(w, "  capacity scale %g: every instance's CPU share and every request's CPU cost were x%g\n", s.CapacityScale, s.CapacityScale)
	}
	fmt.Fprintf(w, "  latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max)
	if len(s.LoadGenerators) > 0 {
		var gs []string
		for _, g := range s.LoadGenerators {
			gs = append(gs, fmt.Sprintf("%s %d", g.Name, g.Requests))
		}
		fmt.Fprintf(w, "  load from %d generators (requests: %s), merged from their raw histograms and counts\n", len(s.LoadGenerators), strings.Join(gs, ", "))
	}
	e := s.Errors
	fmt.Fprintf(w, "  errors: 4xx %d, 5xx %d (ELB 502 %d, 503 %d, 504 %d; target 5xx %d), transport %d\n",
		e.HTTP4xx, e.HTTP5xx, e.ELB502, e.ELB503, e.ELB504, e.Target5xx, e.Transport)
	fmt.Fprintln(w, "\nInstances in service")
	zones := make([]string, 0, len(s.InService.PerZone))
	for z := range s.InService.PerZone {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	var parts []string
	for _, z := range zones {
		mm := s.InService.PerZone[z]
		parts = append(parts, fmt.Sprintf("%s %d-%d", z, mm.Min, mm.Max))
	}
	fmt.Fprintf(w, "  total %d-%d; %s\n", s.InService.Min, s.InService.Max, strings.Join(parts, ", "))
	a := s.ScalingActivities
	fmt.Fprintf(w, "  scaling: %d scale-out, %d scale-in decisions; %d launches, %d terminations (%d health replacements)\n",
		a.ScaleOuts, a.ScaleIns, a.Launches, a.Terminations, a.Replacements)
	fmt.Fprintf(w, "  chaos: %d faults injected, %d reverted\n", s.Faults.Injected, s.Faults.Reverted)
	on := ""
	if s.WritesCheckedOn != "" {
		on = " (checked on DB instance " + s.WritesCheckedOn + ")"
	}
	if s.WritesNotChecked != "" {
		fmt.Fprintf(w, "  writes: %d acknowledged, not checked across hosts (%s)\n", s.AcknowledgedWrites, s.WritesNotChecked)
	} else {
		fmt.Fprintf(w, "  writes: %d acknowledged, %d lost%s; reads after them: %d checked, %d stale\n", s.AcknowledgedWrites, s.LostWrites, on, s.CheckedReads, s.StaleReads)
	}
	if s.DBFailovers > 0 {
		fmt.Fprintf(w, "  database: %d failover(s); error window %.0f s (AWS time)\n", s.DBFailovers, s.DBErrorWindowSeconds)
	}
	if s.DBPromotions > 0 {
		fmt.Fprintf(w, "  database: %d read replica promotion(s) to a standalone DB instance (not a failover: the source keeps its endpoint)\n", s.DBPromotions)
	}
	for _, o := range s.DBFailoverOverruns {
		fmt.Fprintf(w, "  WARNING: %s\n", o.Sentence())
	}
	if ss := s.Sessions; ss != nil {
		fmt.Fprintf(w, "  session state: %d cart reads checked, %d lost session state (%d of the users); %d items added\n", ss.Reads, ss.Lost, ss.LostUsers, ss.Adds)
	}
	if len(s.Services) > 0 {
		fmt.Fprintln(w, "\nServices")
		for _, sv := range s.Services {
			fmt.Fprintf(w, "  %-12s requests %d (2xx %d, 4xx %d, target 5xx %d, ELB errors %d); in service %d-%d, desired %d at the end; %d scale-out, %d scale-in; %d launches, %d terminations\n",
				sv.Name, sv.Requests, sv.Target2xx, sv.Target4xx, sv.Target5xx, sv.ELBErrors, sv.InService.Min, sv.InService.Max, sv.Desired,
				sv.Scaling.ScaleOuts, sv.Scaling.ScaleIns, sv.Scaling.Launches, sv.Scaling.Terminations)
		}
	}
	writeDatabase(w, s.Database)
	s.Host.writeText(w)
	if len(s.Assumptions) > 0 {
		fmt.Fprintln(w, "\nRelied on, not documented by AWS (report.html says where each comes from)")
		for _, f := range s.Assumptions {
			fmt.Fprintf(w, "  %-8s %s: %s\n", f.Kind, f.Name, f.Value)
		}
	}
}

// Second is one wall second of a run, as seconds.jsonl keeps it for
// the report: the load's figures and the group's state at its end.
type Second struct {
	Second    int                `json:"second"` // wall seconds since the load started
	AWS       float64            `json:"aws_s"`  // AWS seconds since the run started
	Phase     string             `json:"phase"`
	Offered   float64            `json:"offered"`
	Sent      int                `json:"sent"`
	OK        int                `json:"ok_2xx"`
	Err4xx    int                `json:"err_4xx"`
	Err5xx    int                `json:"err_5xx"`
	Transport int                `json:"transport"`
	P50       float64            `json:"p50_ms"`
	P95       float64            `json:"p95_ms"`
	P99       float64            `json:"p99_ms"`
	Max       float64            `json:"max_ms"`
	InService map[string]int     `json:"in_service"` // by zone
	Desired   int                `json:"desired"`
	CPU       map[string]float64 `json:"cpu"`                 // by zone: mean of its instances' last minute
	GroupCPU  *float64           `json:"group_cpu,omitempty"` // the alarm's view: the group's average, warming instances excluded
	Lag       float64            `json:"lag_ms"`              // the worst delay of a send behind the load's schedule
	Users     int                `json:"users,omitempty"`     // virtual users live (closed model); offered is then what they sent
}

// Sessions is what the run saw of its users' session state: cart reads
// sent after their user had an add acknowledged, and those whose cart did
// not hold the newest such item (lost_session_state).
type Sessions struct {
	Adds      int `json:"adds"`
	Reads     int `json:"reads"`
	Lost      int `json:"lost_session_state"`
	LostUsers int `json:"users_lost_state"`
}
