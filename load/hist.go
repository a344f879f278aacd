package load

import (
	"math/bits"
	"slices"
	"time"

	"github.com/simplydone/lab/internal/quantile"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits buckets, so a bucket is at most 1/128 (0.8%) wide relative to
// its values.
const subBits = 7

// Histogram is an HDR-style log-linear histogram of durations in
// nanoseconds: exact below 128 ns, then 128 buckets per power of two. Its
// size grows with the largest value (about 3,600 buckets for 10 s) and not
// with the count, so it can hold a whole run. Its fields are exported so
// that it crosses the wire as it is (JSON): two generators' histograms
// merge by adding counts (Merge), and the quantiles of the merged one are
// those of one histogram fed every value.
type Histogram struct {
	Counts []uint64      `json:"counts"` // per bucket (bucketOf)
	N      uint64        `json:"n"`
	Max    time.Duration `json:"max"`
}

// bucketOf maps v to its bucket: shift<<subBits + v>>shift, where shift
// drops all but the subBits+1 leading bits of v.
func bucketOf(v uint64) int {
	shift := max(bits.Len64(v)-1-subBits, 0)
	return shift<<subBits + int(v>>shift)
}

// bucketHigh is the largest value that maps to bucket i.
func bucketHigh(i int) uint64 {
	shift := max(i>>subBits-1, 0)
	sub := uint64(i - shift<<subBits)
	return (sub+1)<<shift - 1
}

func (h *Histogram) add(d time.Duration) {
	d = max(d, 0)
	i := bucketOf(uint64(d))
	if i >= len(h.Counts) {
		h.Counts = slices.Grow(h.Counts, i+1-len(h.Counts))[:i+1]
	}
	h.Counts[i]++
	h.N++
	h.Max = max(h.Max, d)
}

// quantile returns the q-quantile (0 < q <= 1) as the top of the bucket
// holding the ceil(q*n)-th smallest value, capped at the largest value
// seen; zero when empty. It never understates by more than a bucket width.
func (h *Histogram) quantile(q float64) time.Duration {
	if h.N == 0 {
		return 0
	}
	rank := quantile.Rank(q, int(h.N))
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen > uint64(rank) {
			return min(time.Duration(bucketHigh(i)), h.Max)
		}
	}
	return h.Max
}

// exactQuantile returns the nearest-rank q-quantile of sorted values (the
// lab's one definition, as CloudWatch's percentiles); zero when empty.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	v, _ := quantile.NearestRank(sorted, q)
	return v
}

// Add records one duration (negative counts as zero).
func (h *Histogram) Add(d time.Duration) { h.add(d) }

// Quantile returns the q-quantile (0 < q <= 1) by the nearest-rank rule
// over the buckets (quantile's doc); zero when empty.
func (h *Histogram) Quantile(q float64) time.Duration { return h.quantile(q) }

// Merge adds o's values to h: counts bucket by bucket, the count and the
// maximum. The result is the histogram of the union of both sets of
// values, exactly, so its quantiles are the union's (never an average of
// the parts' quantiles).
func (h *Histogram) Merge(o Histogram) {
	if len(o.Counts) > len(h.Counts) {
		h.Counts = slices.Grow(h.Counts, len(o.Counts)-len(h.Counts))[:len(o.Counts)]
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.N += o.N
	h.Max = max(h.Max, o.Max)
}
