package report

import (
	"math"
)

// dist is a latency distribution rebuilt from per-second quantiles: no raw
// latencies are stored, so each second's requests are spread log-uniformly
// between its quantiles. fine serves quantiles; shown is the histogram.
//
// Its quantile is not internal/quantile's nearest rank, and must not be: the
// report has no raw latencies, only each second's p50, p95, p99 and max, so
// it interpolates log-uniformly within a rebuilt bin. The golden report
// pins these numbers.
type dist struct {
	fine, shown *bins
}

type bins struct {
	edges  []float64 // ms, ascending; bin i is [edges[i], edges[i+1])
	counts []float64
}

func newBins(edges []float64) *bins {
	return &bins{edges: edges, counts: make([]float64, len(edges)-1)}
}

// fineEdges: 40 bins per decade from 1 µs to 1000 s.
var fineEdges = func() []float64 {
	var e []float64
	for i := 0; i <= 9*40; i++ {
		e = append(e, 1e-3*math.Pow(10, float64(i)/40))
	}
	return e
}()

// shownEdges: 1-2-5 steps from 10 µs to 100 s.
var shownEdges = func() []float64 {
	var e []float64
	for d := 1e-2; d < 1e5; d *= 10 {
		e = append(e, d, 2*d, 5*d)
	}
	return append(e, 1e5)
}()

func newDist() *dist { return &dist{fine: newBins(fineEdges), shown: newBins(shownEdges)} }

// addSecond spreads one second's requests: half between p50/2 and p50, 45%
// between p50 and p95, 4% between p95 and p99, 1% between p99 and max.
func (d *dist) addSecond(s Second) {
	n := float64(s.Sent)
	if n <= 0 || s.P50 <= 0 {
		return
	}
	p50 := s.P50
	p95 := max(s.P95, p50)
	p99 := max(s.P99, p95)
	mx := max(s.Max, p99)
	for _, b := range []*bins{d.fine, d.shown} {
		b.add(p50/2, p50, 0.5*n)
		b.add(p50, p95, 0.45*n)
		b.add(p95, p99, 0.04*n)
		b.add(p99, mx, 0.01*n)
	}
}

// add spreads mass log-uniformly over [lo, hi] (a point when hi <= lo).
func (b *bins) add(lo, hi, mass float64) {
	if hi <= lo*(1+1e-9) {
		b.counts[b.index(lo)] += mass
		return
	}
	llo, lhi := math.Log(lo), math.Log(hi)
	for i := b.index(lo); i <= b.index(hi); i++ {
		a, z := math.Log(b.edges[i]), math.Log(b.edges[i+1])
		if i == 0 {
			a = math.Min(a, llo)
		}
		if i == len(b.counts)-1 {
			z = math.Max(z, lhi)
		}
		ov := math.Min(z, lhi) - math.Max(a, llo)
		if ov > 0 {
			b.counts[i] += mass * ov / (lhi - llo)
		}
	}
}

func (b *bins) index(v float64) int {
	lo, hi := 0, len(b.counts)-1
	if v < b.edges[1] {
		return 0
	}
	if v >= b.edges[hi] {
		return hi
	}
	for lo < hi { // the last i with edges[i] <= v
		m := (lo + hi + 1) / 2
		if b.edges[m] <= v {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return lo
}

// quantile interpolates log-uniformly within the bin holding q.
func (d *dist) quantile(q float64) float64 {
	b := d.fine
	var sum float64
	for _, c := range b.counts {
		sum += c
	}
	if sum == 0 {
		return 0
	}
	target, acc := q*sum, 0.0
	for i, c := range b.counts {
		if c > 0 && acc+c >= target {
			f := (target - acc) / c
			return math.Exp(math.Log(b.edges[i]) + f*(math.Log(b.edges[i+1])-math.Log(b.edges[i])))
		}
		acc += c
	}
	return b.edges[len(b.edges)-1]
}

// buckets is the shown histogram, without empty buckets at either end.
func (d *dist) buckets() []Bucket {
	b := d.shown
	var sum, top float64
	first, last := -1, -1
	for i, c := range b.counts {
		sum += c
		top = max(top, c)
		if c >= 0.5 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	var out []Bucket
	if first < 0 {
		return out
	}
	for i := first; i <= last; i++ {
		out = append(out, Bucket{Label: fmtRange(b.edges[i], b.edges[i+1]), Count: math.Round(b.counts[i]),
			Pct: r1(100 * b.counts[i] / sum), Bar: r1(100 * b.counts[i] / top)})
	}
	return out
}

func fmtRange(lo, hi float64) string {
	if lo >= 1000 {
		return trimNum(lo/1000) + "–" + trimNum(hi/1000) + " s"
	}
	if hi >= 1000 {
		return trimNum(lo) + " ms–" + trimNum(hi/1000) + " s"
	}
	return trimNum(lo) + "–" + trimNum(hi) + " ms"
}
