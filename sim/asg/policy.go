package asg

import (
	"math"
	"time"
)

// Adjustment types, as the AWS API names them.
const (
	ChangeInCapacity        = "ChangeInCapacity"
	ExactCapacity           = "ExactCapacity"
	PercentChangeInCapacity = "PercentChangeInCapacity"
)

// Step is one step adjustment; bounds are relative to the alarm threshold and
// nil means unbounded.
type Step struct {
	Lower, Upper *float64
	Adjustment   int
}

// Policy is a step, simple or target tracking scaling policy.
type Policy struct {
	Name           string
	Type           string // SimpleScaling, StepScaling or TargetTrackingScaling
	AdjustmentType string
	Adjustment     int    // simple scaling
	Steps          []Step // step scaling
	MinAdjustment  int    // MinAdjustmentMagnitude, PercentChangeInCapacity only
	Cooldown       time.Duration
	// Warmup is the policy's EstimatedInstanceWarmup (step and target
	// tracking); nil: not set, and the group's default instance warm-up,
	// else its default cooldown, applies (aws-behaviour.md 2.7).
	Warmup         *time.Duration
	Threshold      float64 // the alarm's threshold, for step bounds
	TargetValue    float64 // target tracking
	DisableScaleIn bool    // target tracking
	// MetricType is a target tracking policy's predefined metric
	// (ASGAverageCPUUtilization, ALBRequestCountPerTarget).
	MetricType string
	// Period is a target tracking policy's metric period: 0 or 60 s, or
	// 10 s or 30 s for high-resolution target tracking.
	Period time.Duration
}

// StepFor finds the step adjustment for a metric value. Above the threshold
// the lower bound is inclusive and the upper exclusive; below it, the other
// way round, as AWS defines.
func StepFor(steps []Step, threshold, value float64) (int, bool) {
	diff := value - threshold
	for _, s := range steps {
		lowerOK := s.Lower == nil || diff > *s.Lower || (diff == *s.Lower && diff >= 0)
		upperOK := s.Upper == nil || diff < *s.Upper || (diff == *s.Upper && diff <= 0)
		if lowerOK && upperOK {
			return s.Adjustment, true
		}
	}
	return 0, false
}

// NewCapacity applies an adjustment to a capacity, with AWS's rounding for
// percentages: above 1 round down, between 0 and 1 make it 1, between -1 and
// 0 make it -1, below -1 round toward zero; MinAdjustmentMagnitude raises the
// magnitude. The result is not clamped to min and max.
func NewCapacity(adjType string, current, adj, minMagnitude int) int {
	switch adjType {
	case ExactCapacity:
		return adj
	case PercentChangeInCapacity:
		change := float64(current) * float64(adj) / 100
		var n int
		switch {
		case change > 1:
			n = int(math.Floor(change))
		case change > 0:
			n = 1
		case change < -1:
			n = int(math.Ceil(change))
		case change < 0:
			n = -1
		}
		if minMagnitude > 0 && n != 0 && abs(n) < minMagnitude {
			n = sign(n) * minMagnitude
		}
		return current + n
	default:
		return current + adj
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}
