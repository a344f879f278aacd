package cloudwatch

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/simplydone/lab/internal/compare"
)

// Comparison operators, as PutMetricAlarm names them; package compare
// holds their meaning, symbols and AWS's words for them.
const (
	GreaterThanOrEqualToThreshold = compare.GreaterThanOrEqualToThreshold
	GreaterThanThreshold          = compare.GreaterThanThreshold
	LessThanThreshold             = compare.LessThanThreshold
	LessThanOrEqualToThreshold    = compare.LessThanOrEqualToThreshold
)

// TreatMissingData values.
const (
	MissingAsMissing      = "missing" // the default
	MissingNotBreaching   = "notBreaching"
	MissingBreaching      = "breaching"
	MissingIgnore         = "ignore"
	maxEvaluationInterval = 24 * time.Hour
)

// AlarmConfig is a metric alarm in PutMetricAlarm's terms.
type AlarmConfig struct {
	Name               string
	Namespace          string
	MetricName         string
	Dimensions         Dimensions
	Statistic          string
	Period             time.Duration
	EvaluationPeriods  int // N
	DatapointsToAlarm  int // M; 0 means N
	ComparisonOperator string
	Threshold          float64
	TreatMissingData   string // "" means missing
}

// Query is the metric query behind the alarm.
func (c AlarmConfig) Query() Query {
	return Query{Namespace: c.Namespace, MetricName: c.MetricName, Dimensions: c.Dimensions, Period: c.Period, Statistic: c.Statistic}
}

func (c AlarmConfig) datapointsToAlarm() int {
	if c.DatapointsToAlarm == 0 {
		return c.EvaluationPeriods
	}
	return c.DatapointsToAlarm
}

func (c AlarmConfig) treatMissing() string {
	if c.TreatMissingData == "" {
		return MissingAsMissing
	}
	return c.TreatMissingData
}

// EvaluationRange is how many periods are fetched for one evaluation. Like
// CloudWatch it is wider than EvaluationPeriods, so older real datapoints
// can stand in for missing ones; AWS's own example fetches 5 for N = 3.
func (c AlarmConfig) EvaluationRange() int { return c.EvaluationPeriods + 2 }

// Validate checks the config and returns every problem, each naming its field.
func (c AlarmConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Name == "" {
		bad("AlarmName is empty")
	}
	if c.Namespace == "" {
		bad("Namespace is empty")
	}
	if c.MetricName == "" {
		bad("MetricName is empty")
	}
	if c.Statistic == "" {
		bad("Statistic is empty; use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99")
	} else if err := ValidateStatistic(c.Statistic); err != nil {
		bad("Statistic: %w", err)
	}
	switch {
	case c.Period == 10*time.Second || c.Period == 30*time.Second:
	case c.Period <= 0 || c.Period%time.Minute != 0:
		bad("Period %v is not allowed; use 10s, 30s or a multiple of 60s", c.Period)
	}
	if c.EvaluationPeriods < 1 {
		bad("EvaluationPeriods %d is not allowed; it must be at least 1", c.EvaluationPeriods)
	} else if c.Period > 0 && time.Duration(c.EvaluationPeriods)*c.Period > maxEvaluationInterval {
		bad("EvaluationPeriods × Period is %v; it cannot exceed one day", time.Duration(c.EvaluationPeriods)*c.Period)
	}
	if c.DatapointsToAlarm < 0 || (c.EvaluationPeriods >= 1 && c.DatapointsToAlarm > c.EvaluationPeriods) {
		bad("DatapointsToAlarm %d is not allowed; it must be between 1 and EvaluationPeriods (%d)", c.DatapointsToAlarm, c.EvaluationPeriods)
	}
	if _, ok := compare.ParseName(c.ComparisonOperator); !ok {
		bad("ComparisonOperator %q is not allowed; use GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold", c.ComparisonOperator)
	}
	if math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) {
		bad("Threshold %v is not a finite number", c.Threshold)
	}
	switch c.TreatMissingData {
	case "", MissingAsMissing, MissingNotBreaching, MissingBreaching, MissingIgnore:
	default:
		bad("TreatMissingData %q is not allowed; use missing, notBreaching, breaching or ignore", c.TreatMissingData)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("alarm %q: %w", c.Name, errors.Join(errs...))
}

// comparison is the alarm's operator; the config must be valid.
func (c AlarmConfig) comparison() compare.Op {
	op, _ := compare.ParseName(c.ComparisonOperator)
	return op
}
