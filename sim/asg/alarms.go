package asg

import (
	"fmt"
	"math"
	"time"

	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/internal/figures"
)

// AlarmAction is an alarm's action on the group: the policy it runs, as
// CloudWatch's AlarmActions carry the policy's ARN. Side says which of a
// target tracking policy's two alarms it is; step and simple policies
// ignore it.
type AlarmAction struct {
	Policy string
	Side   Side
}

// Alarm is a CloudWatch metric alarm a scaling policy acts on, in
// PutMetricAlarm's terms. The group does not import CloudWatch: lab makes
// the alarm from this and binds its Action to the group (OnAlarm).
type Alarm struct {
	Name               string
	Namespace          string
	MetricName         string
	Dimensions         map[string]string // name to value
	Statistic          string
	Period             time.Duration
	EvaluationPeriods  int
	DatapointsToAlarm  int
	ComparisonOperator string
	Threshold          float64
	TreatMissingData   string // "" means missing
	Action             AlarmAction
}

// OnAlarm is CloudWatch invoking an alarm's action on the group, for every
// evaluation of an alarm bound to a policy: inAlarm is whether the alarm is
// in ALARM with a datapoint, v its latest datapoint. A target tracking
// policy sees every evaluation (TrackTarget: it withdraws its proposal when
// its alarm leaves ALARM); a step or simple policy runs only in ALARM
// (ExecutePolicy). It reports the new desired capacity and whether it
// changed.
func (g *Group) OnAlarm(a AlarmAction, alarm string, inAlarm bool, v float64) (int, bool) {
	if p, ok := g.policy(a.Policy); ok && p.Type == TargetTrackingScaling {
		return g.TrackTarget(a.Policy, alarm, a.Side, inAlarm, v)
	}
	if !inAlarm {
		return g.Desired(), false
	}
	return g.ExecutePolicy(a.Policy, alarm, v)
}

// Target tracking's predefined metric types (PredefinedMetricSpecification).
const (
	ASGAverageCPUUtilization = "ASGAverageCPUUtilization"
	ALBRequestCountPerTarget = "ALBRequestCountPerTarget"
	ASGAverageNetworkIn      = "ASGAverageNetworkIn"
	ASGAverageNetworkOut     = "ASGAverageNetworkOut"
)

// Target tracking alarm shape, as AWS builds it for EC2 Auto Scaling
// (aws-behaviour.md 2.6, "Alarm shape [observed]"): AlarmHigh is
// metric > target for 3 of 3 one-minute datapoints; AlarmLow is
// metric < about 0.7 × target for 15 of 15. The 0.7 is what consoles show
// for EC2 ASG CPU policies (50→35, 40→28, 30→21); Application Auto
// Scaling uses about 0.9, and AWS may tune it [UNCONFIRMED].
const (
	trackingPeriod         = time.Minute
	trackingHighDatapoints = 3
	trackingLowDatapoints  = 15
	trackingLowFactor      = 0.7
)

// trackingMetric is the CloudWatch metric behind a predefined metric type,
// in CloudWatch's names. The lab measures CPU and ALB requests only;
// network metrics are refused.
func trackingMetric(group, loadBalancer, policy, metricType string) (namespace, name, statistic string, dims map[string]string, err error) {
	switch metricType {
	case ASGAverageCPUUtilization:
		// Warming instances are already left out by the CPU sink (CPUSink).
		return "AWS/EC2", "CPUUtilization", "Average", map[string]string{"AutoScalingGroupName": group}, nil
	case ALBRequestCountPerTarget:
		// Published by the load balancer under the LoadBalancer dimension,
		// as the lab's other ALB metrics; its Sum is requests per target
		// per minute.
		return "AWS/ApplicationELB", "RequestCountPerTarget", "Sum", map[string]string{"LoadBalancer": loadBalancer}, nil
	case ASGAverageNetworkIn, ASGAverageNetworkOut:
		return "", "", "", nil, fmt.Errorf("target tracking policy %s: predefined metric %s is not measured by the lab; use ASGAverageCPUUtilization or ALBRequestCountPerTarget", policy, metricType)
	default:
		return "", "", "", nil, fmt.Errorf("target tracking policy %s: unknown predefined metric %q", policy, metricType)
	}
}

// TrackingAlarmName is the name AWS gives a target tracking policy's alarm:
// TargetTracking-<group>-AlarmHigh-<policy>, or -AlarmLow-.
func TrackingAlarmName(group, policy string, side Side) string {
	s := "AlarmHigh"
	if side == AlarmLow {
		s = "AlarmLow"
	}
	return fmt.Sprintf("TargetTracking-%s-%s-%s", group, s, policy)
}

// TrackingAlarms are the alarms AWS builds for a target tracking policy p of
// group: AlarmHigh, and AlarmLow unless scale-in is disabled, each with the
// action that runs p. loadBalancer names the load balancer whose
// RequestCountPerTarget ALBRequestCountPerTarget reads.
func TrackingAlarms(group, loadBalancer string, p Policy) ([]Alarm, error) {
	ns, name, stat, dims, err := trackingMetric(group, loadBalancer, p.Name, p.MetricType)
	if err != nil {
		return nil, err
	}
	base := Alarm{Namespace: ns, MetricName: name, Dimensions: dims, Statistic: stat, Period: trackingPeriod}
	if p.Period > 0 {
		base.Period = p.Period // high-resolution target tracking: 10 s or 30 s
	}
	high := base
	high.Name = TrackingAlarmName(group, p.Name, AlarmHigh)
	high.EvaluationPeriods, high.DatapointsToAlarm = trackingHighDatapoints, trackingHighDatapoints
	high.ComparisonOperator, high.Threshold = compare.GreaterThanThreshold, p.TargetValue
	high.Action = AlarmAction{Policy: p.Name, Side: AlarmHigh}
	out := []Alarm{high}
	if !p.DisableScaleIn {
		low := base
		low.Name = TrackingAlarmName(group, p.Name, AlarmLow)
		low.EvaluationPeriods, low.DatapointsToAlarm = trackingLowDatapoints, trackingLowDatapoints
		low.ComparisonOperator, low.Threshold = compare.LessThanThreshold, math.Round(p.TargetValue*trackingLowFactor*1e6)/1e6 // 30 → 21, not 20.999999999999996
		low.Action = AlarmAction{Policy: p.Name, Side: AlarmLow}
		out = append(out, low)
	}
	return out, nil
}

// TrackingFigures are the target tracking alarm shapes the lab relies on
// that AWS does not document (aws-behaviour.md 2.6, "Alarm shape").
func TrackingFigures() []figures.Figure {
	return []figures.Figure{
		{Name: "Target tracking AlarmHigh", Value: fmt.Sprintf("metric > target for %d of %d one-minute datapoints", trackingHighDatapoints, trackingHighDatapoints),
			Kind: figures.Observed, Source: "the alarms AWS creates for an EC2 Auto Scaling target tracking policy, as the CloudWatch console shows them"},
		{Name: "Target tracking AlarmLow", Value: fmt.Sprintf("metric < %g × target for %d of %d one-minute datapoints", trackingLowFactor, trackingLowDatapoints, trackingLowDatapoints),
			Kind: figures.Observed, Source: "consoles show 50→35, 40→28, 30→21 for EC2 CPU policies; AWS may tune it (Application Auto Scaling uses about 0.9)"},
	}
}
