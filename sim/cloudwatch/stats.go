package cloudwatch

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/simplydone/lab/internal/quantile"
)

// The statistics an alarm or query can ask for; percentiles are "pNN".
const (
	StatAverage     = "Average"
	StatSum         = "Sum"
	StatMinimum     = "Minimum"
	StatMaximum     = "Maximum"
	StatSampleCount = "SampleCount"
)

// Stats summarises the samples of one period.
type Stats struct {
	SampleCount float64
	Sum         float64
	Average     float64
	Minimum     float64
	Maximum     float64
	sorted      []float64 // the period's samples, ascending, for percentiles
}

// newStats summarises values; it sorts values in place and keeps them.
func newStats(values []float64) Stats {
	sort.Float64s(values)
	s := Stats{SampleCount: float64(len(values)), sorted: values}
	if len(values) == 0 {
		return s
	}
	s.Minimum, s.Maximum = values[0], values[len(values)-1]
	for _, v := range values {
		s.Sum += v
	}
	s.Average = s.Sum / s.SampleCount
	return s
}

// Percentile is the exact p-th percentile (0 ≤ p ≤ 100) of the period's
// samples by the nearest-rank method: the smallest sample with at least p%
// of the samples at or below it. It is NaN when there are no samples.
func (s Stats) Percentile(p float64) float64 {
	if math.IsNaN(p) {
		return math.NaN()
	}
	v, ok := quantile.NearestRank(s.sorted, p/100)
	if !ok {
		return math.NaN()
	}
	return v
}

// Value returns the named statistic: Average, Sum, Minimum, Maximum,
// SampleCount or a percentile such as "p99" or "p99.9".
func (s Stats) Value(statistic string) (float64, error) {
	switch statistic {
	case StatAverage:
		return s.Average, nil
	case StatSum:
		return s.Sum, nil
	case StatMinimum:
		return s.Minimum, nil
	case StatMaximum:
		return s.Maximum, nil
	case StatSampleCount:
		return s.SampleCount, nil
	}
	p, err := parsePercentile(statistic)
	if err != nil {
		return 0, err
	}
	return s.Percentile(p), nil
}

// ValidateStatistic reports whether statistic is one Stats.Value accepts.
func ValidateStatistic(statistic string) error {
	_, err := Stats{}.Value(statistic)
	return err
}

func parsePercentile(statistic string) (float64, error) {
	bad := fmt.Errorf("statistic %q is not supported; use Average, Sum, Minimum, Maximum, SampleCount or a percentile p0 to p100 (e.g. p99, p99.9)", statistic)
	num, ok := strings.CutPrefix(statistic, "p")
	if !ok || num == "" || strings.ContainsAny(num, "+-eE") {
		return 0, bad
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || p < 0 || p > 100 {
		return 0, bad
	}
	return p, nil
}
