package rundir

import (
	"fmt"
	"io"
)

// HostFile holds one HostSecond per wall second of load: whether the host
// gave the instances the CPU their shares promise.
const HostFile = "host.jsonl"

// HostSecond is one wall second of the host's contention as the run saw
// it: the CPU the instances were entitled to, what they used, how long
// their threads waited on a run queue, the same for the lab's own process,
// and what the host spent outside the lab. CPU figures are in CPU-seconds
// over the second (cores busy).
type HostSecond struct {
	Second    int     `json:"second"`    // wall seconds since the load started, as in seconds.jsonl
	Instances int     `json:"instances"` // running instances read
	Entitled  float64 `json:"entitled"`  // the sum of their shares
	Used      float64 `json:"used"`      // the CPU they used
	Wait      float64 `json:"wait"`      // their threads' run-queue delay (schedstat field 2)
	Throttled float64 `json:"throttled"` // time their cgroups were throttled by their own limits
	// Denied is the CPU the host withheld: per instance, the run-queue delay
	// its own limit does not explain, at most the share it did not use.
	Denied    float64 `json:"denied"`
	DeniedPct float64 `json:"denied_pct"` // Denied as a percentage of Entitled
	HostBusy  float64 `json:"host_busy"`  // every CPU's busy time (/proc/stat)
	Lab       float64 `json:"lab"`        // the lab's own process (load balancer, load generator)
	Other     float64 `json:"other"`      // the host's busy time outside the lab and its instances
	// LabWait is the lab's own threads' run-queue delay (schedstat field
	// 2); LabDenied the part of it the host's work outside the lab
	// explains, and LabDeniedPct that part as a percentage of what the
	// lab asked for (its CPU plus its wait).
	LabWait      float64 `json:"lab_wait"`
	LabDenied    float64 `json:"lab_denied"`
	LabDeniedPct float64 `json:"lab_denied_pct"`
	Steal        float64 `json:"steal"` // taken by the hypervisor
	CPUs         int     `json:"cpus"`
	// LabProcs is how many cores the lab's own Go code could run on
	// (GOMAXPROCS, set by internal/procs), the most in the second.
	LabProcs int  `json:"lab_procs,omitempty"`
	Starved  bool `json:"starved"` // the starvation rule held (summary.json's host.rule)
}

// Host is the summary's account of the host's contention over the load.
type Host struct {
	// Rule is the starvation rule as applied, in words.
	Rule            string  `json:"rule"`
	StarvedAbovePct float64 `json:"starved_above_pct"` // the rule's threshold for one second
	// Measured says whether the instances' accounting could be read; when
	// it could not (a remote engine), the verdict does not judge the host.
	Measured bool   `json:"measured"`
	Note     string `json:"note,omitempty"`
	// Seconds is how many load seconds were read, Starved which of them
	// the rule marked (wall seconds since the load started).
	Seconds      int     `json:"seconds"`
	Starved      []int   `json:"starved_seconds,omitempty"`
	MaxDeniedPct float64 `json:"max_denied_pct"`
	// MaxLabDeniedPct is the most of the lab's own CPU demand (its load
	// balancer nodes and load generator) the host withheld in a second.
	MaxLabDeniedPct float64 `json:"max_lab_denied_pct"`
	MeanOther       float64 `json:"mean_other_cores"` // CPU the host spent outside the lab, on average
	MaxOther        float64 `json:"max_other_cores"`
	Invalid         bool    `json:"invalid"` // the host starved the run: a breached SLO is INVALID, not FAIL
}

// writeText prints the host's lines of the summary table.
func (h *Host) writeText(w io.Writer) {
	if h == nil {
		return
	}
	fmt.Fprintln(w, "\nHost")
	if !h.Measured {
		fmt.Fprintf(w, "  contention not measured: %s\n", h.Note)
		return
	}
	fmt.Fprintf(w, "  %d of %d load seconds starved; up to %.0f%% of the instances' share and %.0f%% of the lab's own CPU withheld; outside the lab %.2f cores on average, %.2f at most\n",
		len(h.Starved), h.Seconds, h.MaxDeniedPct, h.MaxLabDeniedPct, h.MeanOther, h.MaxOther)
}

// StarvedText says how many load seconds were starved.
func (h *Host) StarvedText() string {
	return fmt.Sprintf("%d of %d load seconds starved (up to %.0f%% of the instances' shares and %.0f%% of the lab's own CPU withheld)", len(h.Starved), h.Seconds, h.MaxDeniedPct, h.MaxLabDeniedPct)
}
