package stack

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/internal/yamlcheck"
)

var (
	policyTypes         = []string{SimpleScaling, StepScaling, TargetTrackingScaling}
	adjustmentTypes     = []string{"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"}
	predefinedMetrics   = []string{"ASGAverageCPUUtilization", "ASGAverageNetworkIn", "ASGAverageNetworkOut", "ALBRequestCountPerTarget"}
	statistics          = []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount"}
	comparisonOperators = compare.CloudWatchNames()
	missingDataOptions  = []string{"missing", "notBreaching", "breaching", "ignore"}
)

func (p *parser) validatePolicies(policies []ScalingPolicy) {
	firstUse := map[string]int{}
	for i, sp := range policies {
		path := yamlcheck.Index("scaling_policies", i)
		if !p.Has(path + ".name") {
			p.Errf(path+".name", "missing; give the policy a name")
		} else if j, dup := firstUse[sp.Name]; dup {
			p.Errf(path+".name", "%s is already the name of scaling_policies[%d]; policy names must be unique", sp.Name, j)
		} else {
			firstUse[sp.Name] = i
		}
		if p.OneOf(path+".policy_type", sp.PolicyType, policyTypes) {
			p.validatePolicy(path, sp)
		}
	}
}

// validatePolicy checks one policy whose type is known: which settings its
// type needs, which it does not take, and their values.
func (p *parser) validatePolicy(path string, sp ScalingPolicy) {
	required := map[string][]string{
		SimpleScaling:         {"adjustment_type", "scaling_adjustment", "alarm"},
		StepScaling:           {"adjustment_type", "step_adjustments", "alarm"},
		TargetTrackingScaling: {"target_tracking"},
	}
	forbidden := map[string][]string{
		SimpleScaling:         {"step_adjustments", "estimated_instance_warmup", "target_tracking"},
		StepScaling:           {"scaling_adjustment", "cooldown", "target_tracking"},
		TargetTrackingScaling: {"adjustment_type", "scaling_adjustment", "step_adjustments", "min_adjustment_magnitude", "cooldown", "alarm"},
	}
	for _, key := range required[sp.PolicyType] {
		if !p.Has(yamlcheck.Sub(path, key)) {
			p.Errf(yamlcheck.Sub(path, key), "missing; a %s policy needs it", sp.PolicyType)
		}
	}
	for _, key := range forbidden[sp.PolicyType] {
		if p.Has(yamlcheck.Sub(path, key)) {
			why := ""
			if key == "alarm" {
				why = " (AWS creates and manages its alarms)"
			}
			p.Errf(yamlcheck.Sub(path, key), "not allowed in a %s policy%s; remove it", sp.PolicyType, why)
		}
	}

	if p.Has(path+".adjustment_type") && p.OneOf(path+".adjustment_type", sp.AdjustmentType, adjustmentTypes) {
		if sp.AdjustmentType == "ExactCapacity" && sp.PolicyType == SimpleScaling && sp.ScalingAdjustment < 0 {
			p.Errf(path+".scaling_adjustment", "%d is negative; ExactCapacity sets the desired capacity, 0 or more", sp.ScalingAdjustment)
		}
		if p.Has(path+".min_adjustment_magnitude") && sp.AdjustmentType != "PercentChangeInCapacity" {
			p.Errf(path+".min_adjustment_magnitude", "only allowed with adjustment_type PercentChangeInCapacity")
		}
	}
	if p.Has(path + ".min_adjustment_magnitude") {
		p.intRange(path+".min_adjustment_magnitude", sp.MinAdjustmentMagnitude, 1, -1)
	}
	if sp.Cooldown != nil {
		p.durRange(path+".cooldown", *sp.Cooldown, 0, -1)
	}
	if sp.EstimatedInstanceWarmup != nil {
		p.durRange(path+".estimated_instance_warmup", *sp.EstimatedInstanceWarmup, 0, -1)
	}
	if sp.PolicyType == StepScaling {
		p.validateSteps(yamlcheck.Sub(path, "step_adjustments"), sp.StepAdjustments)
	}
	if t := sp.TargetTracking; t != nil && sp.PolicyType == TargetTrackingScaling {
		tpath := yamlcheck.Sub(path, "target_tracking")
		if !p.Has(tpath + ".predefined_metric_type") {
			p.Errf(tpath+".predefined_metric_type", "missing; use one of %s", strings.Join(predefinedMetrics, ", "))
		} else {
			p.OneOf(tpath+".predefined_metric_type", t.PredefinedMetricType, predefinedMetrics)
		}
		if !p.Has(tpath + ".target_value") {
			p.Errf(tpath+".target_value", "missing; give the value to hold the metric at (above 0)")
		} else if t.TargetValue <= 0 {
			p.Errf(tpath+".target_value", "%s is not allowed; the target value must be above 0", fmtNum(t.TargetValue))
		}
		p.validateTrackingPeriod(tpath+".period", t.PredefinedMetricType, t.Period)
	}
	if sp.Alarm != nil && sp.PolicyType != TargetTrackingScaling {
		p.validateAlarm(yamlcheck.Sub(path, "alarm"), *sp.Alarm)
	}
}

// validateSteps checks that each step has a bound and that, in order, the
// steps neither overlap nor leave gaps, as AWS requires.
func (p *parser) validateSteps(path string, steps []StepAdjustment) {
	if p.Has(path) && len(steps) == 0 && !p.Bad(path) {
		p.Errf(path, "empty; give at least one step")
		return
	}
	ok := true
	for i, st := range steps {
		ipath := yamlcheck.Index(path, i)
		if !p.Has(ipath + ".scaling_adjustment") {
			p.Errf(ipath+".scaling_adjustment", "missing; give the capacity change for this step")
		}
		switch {
		case st.LowerBound == nil && st.UpperBound == nil:
			p.Errf(ipath, "both bounds are open; give metric_interval_lower_bound or metric_interval_upper_bound")
			ok = false
		case st.LowerBound != nil && st.UpperBound != nil && *st.LowerBound >= *st.UpperBound:
			p.Errf(ipath+".metric_interval_upper_bound", "%s is not above metric_interval_lower_bound (%s)", fmtNum(*st.UpperBound), fmtNum(*st.LowerBound))
			ok = false
		}
	}
	if !ok {
		return
	}
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	lower := func(i int) float64 { return bound(steps[order[i]].LowerBound, math.Inf(-1)) }
	sort.SliceStable(order, func(a, b int) bool { return lower(a) < lower(b) })
	for k := 1; k < len(order); k++ {
		prev, cur := steps[order[k-1]], steps[order[k]]
		prevUpper, curLower := bound(prev.UpperBound, math.Inf(1)), bound(cur.LowerBound, math.Inf(-1))
		field := yamlcheck.Index(path, order[k])
		switch {
		case curLower < prevUpper:
			p.Errf(field, "%s overlaps %s; steps must not overlap or leave gaps", fmtStep(cur), fmtStep(prev))
		case curLower > prevUpper:
			p.Errf(field, "%s leaves a gap after %s; steps must not overlap or leave gaps", fmtStep(cur), fmtStep(prev))
		}
	}
}

func (p *parser) validateAlarm(path string, a Alarm) {
	for _, key := range []string{"metric_name", "namespace", "statistic", "comparison_operator", "threshold", "period", "evaluation_periods"} {
		if !p.Has(yamlcheck.Sub(path, key)) {
			p.Errf(yamlcheck.Sub(path, key), "missing; CloudWatch needs it for the alarm")
		}
	}
	if p.Has(path + ".statistic") {
		p.OneOf(path+".statistic", a.Statistic, statistics)
	}
	if p.Has(path + ".comparison_operator") {
		p.OneOf(path+".comparison_operator", a.ComparisonOperator, comparisonOperators)
	}
	p.OneOf(path+".treat_missing_data", a.TreatMissingData, missingDataOptions)
	switch {
	case !p.Has(path + ".period"):
	case a.Period != 10*time.Second && a.Period != 30*time.Second && (a.Period <= 0 || a.Period%time.Minute != 0):
		p.Errf(path+".period", "%s is not allowed; use 10s, 30s or a multiple of 60s", fmtDur(a.Period))
	case subMinute(a.Period) && awsNamespace(a.Namespace):
		p.Errf(path+".period", "%s is not allowed for %s %s: "+highResolutionNeedsCustom, fmtDur(a.Period), a.Namespace, a.MetricName, a.Namespace+" "+a.MetricName)
	}
	if p.Has(path+".evaluation_periods") && p.intRange(path+".evaluation_periods", a.EvaluationPeriods, 1, -1) && !p.Bad(path+".evaluation_periods") {
		if a.DatapointsToAlarm > a.EvaluationPeriods {
			p.Errf(path+".datapoints_to_alarm", "%d is above evaluation_periods (%d); an alarm needs M of its N periods, M <= N", a.DatapointsToAlarm, a.EvaluationPeriods)
		} else {
			p.intRange(path+".datapoints_to_alarm", a.DatapointsToAlarm, 1, -1)
		}
	}
}

func bound(b *float64, open float64) float64 {
	if b == nil {
		return open
	}
	return *b
}

// fmtStep writes a step's interval relative to the threshold, as [0, 10).
func fmtStep(s StepAdjustment) string {
	lo, hi := "-infinity", "+infinity"
	if s.LowerBound != nil {
		lo = fmtNum(*s.LowerBound)
	}
	if s.UpperBound != nil {
		hi = fmtNum(*s.UpperBound)
	}
	return fmt.Sprintf("step [%s, %s)", lo, hi)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
