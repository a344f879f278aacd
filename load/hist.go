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

// histogram is an HDR-style log-linear histogram of durations in
// nanoseconds: exact below 128 ns, then 128 buckets per power of two. Its
// size grows with the largest value (about 3,600 buckets for 10 s) and not
// with the count, so it can hold a whole run.
type histogram struct {
	counts []uint64
	n      uint64
	max    time.Duration
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

func (h *histogram) add(d time.Duration) {
	d = max(d, 0)
	i := bucketOf(uint64(d))
	if i >= len(h.counts) {
		h.counts = slices.Grow(h.counts, i+1-len(h.counts))[:i+1]
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

// quantile returns the q-quantile (0 < q <= 1) as the top of the bucket
// holding the ceil(q*n)-th smallest value, capped at the largest value
// seen; zero when empty. It never understates by more than a bucket width.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := quantile.Rank(q, int(h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > uint64(rank) {
			return min(time.Duration(bucketHigh(i)), h.max)
		}
	}
	return h.max
}

// exactQuantile returns the nearest-rank q-quantile of sorted values (the
// lab's one definition, as CloudWatch's percentiles); zero when empty.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	v, _ := quantile.NearestRank(sorted, q)
	return v
}
