package tui

import (
	"math"

	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
)

// liveSLO judges the scenario's SLOs from the seconds of load seen so far.
// Latency quantiles over the run are estimated from the per-second
// quantiles (percentiles cannot be averaged): each second puts half its
// requests at its p50, 45% at its p95, 4% at its p99 and 1% at its max.
type liveSLO struct {
	slos      []scenarios.SLO
	sent, bad int
	secs      []lab.SecondRecord // every second (four numbers each matter)
	scaleOuts int
	scaleIns  int
	minIn     int
	maxIn     int
	sawIn     bool
}

// window is how many recent seconds decide "at risk".
const window = 10

func newLiveSLO(slos []scenarios.SLO) liveSLO { return liveSLO{slos: slos} }

func (l *liveSLO) add(r lab.SecondRecord) {
	l.sent += r.Sent
	l.bad += r.Err5xx + r.Transport
	l.secs = append(l.secs, r)
}

func (l *liveSLO) scaled(out bool) {
	if out {
		l.scaleOuts++
	} else {
		l.scaleIns++
	}
}

// inService records the group's in-service count while the load runs.
func (l *liveSLO) inService(n int, loading bool) {
	if !loading {
		return
	}
	if !l.sawIn {
		l.minIn, l.maxIn, l.sawIn = n, n, true
	}
	l.minIn, l.maxIn = min(l.minIn, n), max(l.maxIn, n)
}

// badges judges each SLO; once the run is done the summary's own judgement wins.
func (l *liveSLO) badges(done bool, sum *lab.Summary) []SLOBadge {
	var out []SLOBadge
	if done && sum != nil && len(sum.SLOs) == len(l.slos) {
		for _, r := range sum.SLOs {
			st := Holding
			if !r.Pass {
				st = Breached
			}
			out = append(out, SLOBadge{Expr: r.Expr, Status: st, Observed: r.Shown})
		}
		return out
	}
	recent := l.secs[max(0, len(l.secs)-window):]
	for _, s := range l.slos {
		out = append(out, l.judge(s, recent))
	}
	return out
}

func (l *liveSLO) judge(s scenarios.SLO, recent []lab.SecondRecord) SLOBadge {
	b := SLOBadge{Expr: s.Expr, Status: Pending}
	switch s.Metric {
	case scenarios.SuccessRate, scenarios.ErrorRate:
		if l.sent == 0 {
			b.Observed = "no load yet"
			return b
		}
		v := rate(s.Metric, l.sent, l.bad)
		var rs, rb int
		for _, r := range recent {
			rs += r.Sent
			rb += r.Err5xx + r.Transport
		}
		b.Observed = s.Format(v)
		b.Status = status(s, v, rs > 0 && !pass(s, rate(s.Metric, rs, rb)))
	case scenarios.P50, scenarios.P95, scenarios.P99, scenarios.MaxLatency:
		if l.sent == 0 {
			b.Observed = "no load yet"
			return b
		}
		v := l.latency(s.Metric)
		worst := 0.0
		for _, r := range recent {
			worst = max(worst, latencyOf(s.Metric, r))
		}
		b.Observed = "≈" + s.Format(v)
		if s.Metric == scenarios.MaxLatency {
			b.Observed = s.Format(v)
		}
		_, margin := s.Check(v)
		b.Status = status(s, v, !pass(s, worst) || margin < 0.2*math.Abs(s.Threshold))
	case scenarios.Requests:
		b.Observed = s.Format(float64(l.sent))
		b.Status = monotone(s, float64(l.sent), true)
	case scenarios.ScaleOutActivities:
		b.Observed = s.Format(float64(l.scaleOuts))
		b.Status = monotone(s, float64(l.scaleOuts), true)
	case scenarios.ScaleInActivities:
		b.Observed = s.Format(float64(l.scaleIns))
		b.Status = monotone(s, float64(l.scaleIns), true)
	case scenarios.MaxInService:
		if !l.sawIn {
			b.Observed = "no load yet"
			return b
		}
		b.Observed = s.Format(float64(l.maxIn))
		b.Status = monotone(s, float64(l.maxIn), true)
	case scenarios.MinInService:
		if !l.sawIn {
			b.Observed = "no load yet"
			return b
		}
		b.Observed = s.Format(float64(l.minIn))
		b.Status = monotone(s, float64(l.minIn), false)
	default: // lost_writes and anything only the end can tell
		b.Observed = "at the end"
	}
	return b
}

func pass(s scenarios.SLO, v float64) bool { ok, _ := s.Check(v); return ok }

// status: breached if the run so far fails, at risk if recent seconds do.
func status(s scenarios.SLO, v float64, risky bool) string {
	switch {
	case !pass(s, v):
		return Breached
	case risky:
		return AtRisk
	}
	return Holding
}

// monotone judges a metric that only grows (up) or only shrinks: a bound it
// has crossed is breached for good; one it has not reached yet is pending;
// one it sits exactly on is at risk.
func monotone(s scenarios.SLO, v float64, up bool) string {
	ok, margin := s.Check(v)
	upper, lower := s.Op.Below(), s.Op.Above()
	switch {
	case s.Op == compare.Equal:
		if ok {
			return Holding
		}
		return Pending
	case ok && margin == 0 && ((up && upper) || (!up && lower)):
		return AtRisk // one more step breaches it
	case ok:
		return Holding
	case (up && upper) || (!up && lower):
		return Breached
	}
	return Pending
}

func rate(metric string, sent, bad int) float64 {
	ok := 100 * float64(sent-bad) / float64(sent)
	if metric == scenarios.ErrorRate {
		return 100 - ok
	}
	return ok
}

func latencyOf(metric string, r lab.SecondRecord) float64 {
	switch metric {
	case scenarios.P50:
		return r.P50
	case scenarios.P95:
		return r.P95
	case scenarios.P99:
		return r.P99
	}
	return r.Max
}

// latency estimates a latency metric over every second seen.
func (l *liveSLO) latency(metric string) float64 {
	q := map[string]float64{scenarios.P50: 0.50, scenarios.P95: 0.95, scenarios.P99: 0.99}[metric]
	if metric == scenarios.MaxLatency {
		m := 0.0
		for _, r := range l.secs {
			m = max(m, r.Max)
		}
		return m
	}
	return estimateQuantile(l.secs, q)
}

// estimateQuantile merges per-second quantiles into an estimate over all
// the seconds: each second's distribution is taken as linear between its
// quantiles (0 at 0 ms, then p50, p95, p99 and max), weighted by its
// requests, and the mixture's quantile found by bisection.
func estimateQuantile(secs []lab.SecondRecord, q float64) float64 {
	total, hi := 0.0, 0.0
	for _, r := range secs {
		if r.Sent > 0 {
			total += float64(r.Sent)
			hi = max(hi, r.Max, r.P99)
		}
	}
	if total == 0 {
		return 0
	}
	lo := 0.0
	for range 50 {
		mid := (lo + hi) / 2
		below := 0.0
		for _, r := range secs {
			if r.Sent > 0 {
				below += float64(r.Sent) * cdf(r, mid)
			}
		}
		if below >= q*total {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// cdf is the share of a second's requests at or under x ms.
func cdf(r lab.SecondRecord, x float64) float64 {
	pts := [5][2]float64{{0, 0}, {r.P50, 0.50}, {r.P95, 0.95}, {r.P99, 0.99}, {max(r.Max, r.P99), 1}}
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if x < b[0] {
			if b[0] <= a[0] {
				return a[1]
			}
			return a[1] + (b[1]-a[1])*(x-a[0])/(b[0]-a[0])
		}
	}
	return 1
}
