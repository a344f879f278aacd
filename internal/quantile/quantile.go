// Package quantile is the lab's one exact quantile: the nearest-rank
// method, as CloudWatch defines its percentile statistics (pNN) and as the
// load generator reports p50, p95 and p99. Estimators that rebuild a
// distribution (the load generator's HDR-style histogram picks its bucket
// by this rank; the report's log-interpolated rebuild from per-second
// quantiles does not) keep their own code beside their data.
package quantile

import "math"

// Rank is the 0-based index of the q-quantile (0 ≤ q ≤ 1) among n > 0
// sorted values by the nearest-rank method: the ceil(q×n)-th smallest,
// clamped to the first and the last.
func Rank(q float64, n int) int {
	r := int(math.Ceil(q*float64(n))) - 1
	return min(max(r, 0), n-1)
}

// NearestRank is the q-quantile of sorted (ascending) values by the
// nearest-rank method; ok is false when there are none.
func NearestRank[T any](sorted []T, q float64) (v T, ok bool) {
	if len(sorted) == 0 {
		return v, false
	}
	return sorted[Rank(q, len(sorted))], true
}
