package report

import (
	"fmt"
	"math"
)

// Span is a phase over AWS minutes.
type Span struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// PhaseRow is one phase of the load.
type PhaseRow struct {
	Name        string  `json:"name"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	WallSeconds int     `json:"wall_seconds"`
	OfferedRPS  float64 `json:"offered_rps"`
	Requests    int     `json:"requests"`
	OK          int     `json:"ok"`
	Err4xx      int     `json:"err_4xx"`
	Err5xx      int     `json:"err_5xx"`
	Transport   int     `json:"transport"`
	SuccessPct  float64 `json:"success_pct"`
	P50         float64 `json:"p50"`
	P95         float64 `json:"p95"`
	P99         float64 `json:"p99"`
	Max         float64 `json:"max"`
	InService   string  `json:"in_service"`
	CPU         float64 `json:"cpu"`
}

func (a *analysis) phaseRows() []PhaseRow {
	var rows []PhaseRow
	for _, ph := range a.phases {
		var seg []Second
		var segDt []float64
		for i, s := range a.secs {
			if r3(s.AWS/60) > ph.Start && r3(s.AWS/60) <= ph.End && s.Phase == ph.Name {
				seg = append(seg, s)
				segDt = append(segDt, a.dts[i])
			}
		}
		row := PhaseRow{Name: ph.Name, From: clockAt(ph.Start * 60), To: clockAt(ph.End * 60), WallSeconds: len(seg)}
		h := newDist()
		lo, hi := math.MaxInt, 0
		var cpu, cpuW float64
		for i, s := range seg {
			row.OfferedRPS += s.Offered
			row.Requests += s.Sent
			row.OK += s.OK
			row.Err4xx += s.Err4xx
			row.Err5xx += s.Err5xx
			row.Transport += s.Transport
			row.Max = max(row.Max, s.Max)
			h.addSecond(s)
			n := total(s.InService)
			lo, hi = min(lo, n), max(hi, n)
			if g, ok := groupCPU(s); ok {
				cpu += g * segDt[i]
				cpuW += segDt[i]
			}
		}
		if len(seg) > 0 {
			row.OfferedRPS = r1(row.OfferedRPS / float64(len(seg)))
			row.InService = fmt.Sprintf("%d–%d", lo, hi)
			if lo == hi {
				row.InService = fmt.Sprint(lo)
			}
		}
		if row.Requests > 0 {
			row.SuccessPct = r3(100 * float64(row.Requests-row.Err5xx-row.Transport) / float64(row.Requests))
		}
		row.P50, row.P95, row.P99 = r3(h.quantile(0.5)), r3(h.quantile(0.95)), r3(h.quantile(0.99))
		row.Max = r3(row.Max)
		if cpuW > 0 {
			row.CPU = r1(cpu / cpuW)
		}
		rows = append(rows, row)
	}
	return rows
}
