package process

import "testing"

// TestCPUQuotaKeepsSmallShares: a share under 0.1 core (a capacity scale's)
// gets the kernel's minimum quota over a longer period, so quota/period is
// still the share; larger shares keep the 10 ms period.
func TestCPUQuotaKeepsSmallShares(t *testing.T) {
	for _, c := range []struct {
		cpu           float64
		quota, period int64
	}{
		{0.25, 2500, 10000},
		{1, 10000, 10000},
		{0.1, 1000, 10000},
		{0.0625, 1000, 16000},
		{0.025, 1000, 40000},
		{0.0005, 1000, 1000000}, // the kernel's longest period
	} {
		q, p := cpuQuota(c.cpu)
		if q != c.quota || p != c.period {
			t.Errorf("cpuQuota(%g) = %d/%d, want %d/%d", c.cpu, q, p, c.quota, c.period)
		}
	}
}
