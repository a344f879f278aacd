package az

import "math"

// CFSQuota is the CFS quota and period, in microseconds, for a share of cpu
// cores over a base period: the share of base, or, for a share below the
// kernel's minimum quota of 1 ms per period (as a capacity scale gives), 1 ms
// over a longer period, so the share stays exact (up to the kernel's longest
// period, 1 s). Both runtimes set their limits with it.
func CFSQuota(cpu float64, base int64) (quota, period int64) {
	quota, period = int64(cpu*float64(base)), base
	if quota >= 1000 {
		return quota, period
	}
	if cpu <= 0 {
		return 1000, base
	}
	return 1000, min(int64(math.Ceil(1000/cpu)), 1000000)
}
