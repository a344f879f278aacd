package report

import (
	"fmt"

	"github.com/simplydone/lab/rundir"
)

// hostNote says in one sentence whether the host gave the instances the CPU
// their shares promise; empty for a run that did not measure it.
func hostNote(h *rundir.Host) string {
	switch {
	case h == nil:
		return ""
	case !h.Measured:
		return "The host's contention was not measured (" + h.Note + "): nothing says whether the instances got their CPU shares."
	case h.Invalid:
		return fmt.Sprintf("The host starved the run: %d of %d load seconds starved (up to %.0f%% of the instances' shares and %.0f%% of the lab's own CPU withheld, %.2f cores busy outside the lab at most); a breached SLO is the host's doing, not the stack's (INVALID), and a met one was met with less CPU than promised. Rule: %s.",
			len(h.Starved), h.Seconds, h.MaxDeniedPct, h.MaxLabDeniedPct, h.MaxOther, h.Rule)
	}
	return fmt.Sprintf("The host gave the instances their CPU shares and the lab the CPU it asked for: %d of %d load seconds starved (up to %.0f%% of the instances' shares and %.0f%% of the lab's own CPU withheld; %.2f cores busy outside the lab on average). Rule: %s.",
		len(h.Starved), h.Seconds, h.MaxDeniedPct, h.MaxLabDeniedPct, h.MeanOther, h.Rule)
}

// hostChart is the host's contention over the load, when host.jsonl was
// written: the CPU withheld from the instances' shares and the CPU the host
// spent outside the lab, both in percent, with the starvation threshold.
// Host seconds are wall seconds of load, placed at the AWS time
// seconds.jsonl gives the same second.
func (a *analysis) hostChart() (Chart, bool) {
	if len(a.run.Host) == 0 {
		return Chart{}, false
	}
	aws := make(map[int]float64, len(a.secs))
	for _, s := range a.secs {
		aws[s.Second] = s.AWS
	}
	c := Chart{ID: "host", Title: "Host contention: CPU withheld from the instances' shares and from the lab's own process, and the host's CPU spent outside the lab", YLabel: "%", YTop: 100}
	if h := a.run.Summary.Host; h != nil && h.StarvedAbovePct > 0 {
		c.HLines = []HLine{{Y: h.StarvedAbovePct, Label: fmt.Sprintf("starved above %g%%", h.StarvedAbovePct), Color: "#d62728"}}
	}
	withheld := Series{Name: "withheld from the shares (% of the shares)", Color: "#d62728", Wide: true}
	labWithheld := Series{Name: "withheld from the lab's own process (% of the CPU it asked for)", Color: "#9467bd"}
	outside := Series{Name: "busy outside the lab (% of the host's CPUs)", Color: "#888888", Area: true}
	starved := 0
	for _, h := range a.run.Host {
		x, ok := aws[h.Second]
		if !ok {
			continue
		}
		x = r3(x / 60)
		withheld.Pts = append(withheld.Pts, Pt{x, r3(h.DeniedPct)})
		labWithheld.Pts = append(labWithheld.Pts, Pt{x, r3(h.LabDeniedPct)})
		if h.CPUs > 0 {
			outside.Pts = append(outside.Pts, Pt{x, r3(100 * h.Other / float64(h.CPUs))})
		}
		if h.Starved {
			starved++
		}
	}
	if len(withheld.Pts) == 0 {
		return Chart{}, false
	}
	c.Series = []Series{outside, withheld, labWithheld}
	c.Note = fmt.Sprintf("%d of %d load seconds starved. Per instance and quarter second, the run-queue delay of its threads beyond its own CPU limit's throttling, at most the share it did not use; for the lab's own process (load balancer nodes, load generator), its threads' run-queue delay less idle CPU, in the proportion of the CPU spent outside the lab to that and its instances', against its CPU time plus that delay.", starved, len(a.run.Host))
	return c, true
}
