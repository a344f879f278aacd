package lab

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/stack"
)

// cpuSink publishes CPUUtilization as EC2 does: per instance, and for the
// group's aggregate only from instances past their warm-up.
type cpuSink struct {
	store *cloudwatch.Store
	group string
}

func (s cpuSink) PutCPU(t time.Time, id az.InstanceID, v float64, groupAverage bool) {
	s.store.Put(cloudwatch.Datum{Namespace: cloudwatch.NamespaceEC2, MetricName: cloudwatch.MetricCPUUtilization,
		Dimensions: cloudwatch.Dims(cloudwatch.DimInstanceID, string(id)), Time: t, Value: v})
	if groupAverage {
		s.store.Put(cloudwatch.Datum{Namespace: cloudwatch.NamespaceEC2, MetricName: cloudwatch.MetricCPUUtilization,
			Dimensions: cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, s.group), Time: t, Value: v})
	}
}

// policies turns the stack's scaling policies into the group's.
func policies(s *stack.Stack) []asg.Policy {
	var out []asg.Policy
	for _, p := range s.ScalingPolicies {
		if p.PolicyType == stack.TargetTrackingScaling && p.TargetTracking != nil {
			ap := asg.Policy{Name: p.Name, Type: asg.TargetTrackingScaling,
				TargetValue: p.TargetTracking.TargetValue, DisableScaleIn: p.TargetTracking.DisableScaleIn}
			if p.EstimatedInstanceWarmup != nil {
				ap.Warmup = *p.EstimatedInstanceWarmup
			}
			out = append(out, ap)
			continue
		}
		if p.Alarm == nil {
			continue
		}
		ap := asg.Policy{Name: p.Name, Type: p.PolicyType, AdjustmentType: p.AdjustmentType, Adjustment: p.ScalingAdjustment,
			MinAdjustment: p.MinAdjustmentMagnitude, Threshold: p.Alarm.Threshold}
		if p.Cooldown != nil {
			ap.Cooldown = *p.Cooldown
		}
		for _, st := range p.StepAdjustments {
			ap.Steps = append(ap.Steps, asg.Step{Lower: st.LowerBound, Upper: st.UpperBound, Adjustment: st.ScalingAdjustment})
		}
		out = append(out, ap)
	}
	return out
}

// addAlarms creates each policy's alarm and has it run the policy for every
// evaluation it is in ALARM, as CloudWatch invokes Auto Scaling actions.
// Target tracking policies get the two alarms AWS builds for them.
func (l *Lab) addAlarms() error {
	s := l.opts.Stack
	for _, p := range s.ScalingPolicies {
		if p.PolicyType == stack.TargetTrackingScaling && p.TargetTracking != nil {
			if err := l.addTrackingAlarms(p); err != nil {
				return err
			}
			continue
		}
		a := p.Alarm
		if a == nil {
			continue
		}
		dims := cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, s.Name)
		if a.Namespace == cloudwatch.NamespaceALB {
			dims = cloudwatch.Dims(cloudwatch.DimLoadBalancer, s.Name)
		}
		alarm, err := l.CloudWatch.AddAlarm(cloudwatch.AlarmConfig{
			Name: p.Name, Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: dims, Statistic: a.Statistic,
			Period: a.Period, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm,
			ComparisonOperator: a.ComparisonOperator, Threshold: a.Threshold, TreatMissingData: a.TreatMissingData,
		})
		if err != nil {
			return fmt.Errorf("alarm for policy %s: %w", p.Name, err)
		}
		policy := p.Name
		alarm.OnEvaluate(func(st cloudwatch.State, ev cloudwatch.Evaluation) {
			if st != cloudwatch.StateAlarm {
				return
			}
			if v, ok := latest(ev.Points); ok {
				l.Group.ExecutePolicy(policy, ev.Alarm, v)
			}
		})
	}
	return nil
}

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

// trackingMetric is the CloudWatch metric behind a predefined metric type.
// The lab measures CPU and ALB requests only; network metrics are refused.
func trackingMetric(s *stack.Stack, policy, metricType string) (namespace, name, statistic string, dims cloudwatch.Dimensions, err error) {
	switch metricType {
	case "ASGAverageCPUUtilization":
		// Warming instances are already left out by cpuSink.
		return cloudwatch.NamespaceEC2, cloudwatch.MetricCPUUtilization, "Average",
			cloudwatch.Dims(cloudwatch.DimAutoScalingGroupName, s.Name), nil
	case "ALBRequestCountPerTarget":
		// Published by albSampler under the LoadBalancer dimension, as the
		// lab's other ALB metrics; its Sum is requests per target per minute.
		return cloudwatch.NamespaceALB, cloudwatch.MetricRequestCountPerTarget, "Sum",
			cloudwatch.Dims(cloudwatch.DimLoadBalancer, s.Name), nil
	case "ASGAverageNetworkIn", "ASGAverageNetworkOut":
		return "", "", "", nil, fmt.Errorf("target tracking policy %s: predefined metric %s is not measured by the lab; use ASGAverageCPUUtilization or ALBRequestCountPerTarget", policy, metricType)
	default:
		return "", "", "", nil, fmt.Errorf("target tracking policy %s: unknown predefined metric %q", policy, metricType)
	}
}

// trackingAlarms are the alarm configurations AWS builds for a target
// tracking policy: AlarmHigh, and AlarmLow unless scale-in is disabled.
func trackingAlarms(s *stack.Stack, p stack.ScalingPolicy) ([]cloudwatch.AlarmConfig, error) {
	tt := p.TargetTracking
	ns, name, stat, dims, err := trackingMetric(s, p.Name, tt.PredefinedMetricType)
	if err != nil {
		return nil, err
	}
	base := cloudwatch.AlarmConfig{Namespace: ns, MetricName: name, Dimensions: dims, Statistic: stat, Period: trackingPeriod}
	if tt.Period > 0 {
		base.Period = tt.Period // high-resolution target tracking: 10 s or 30 s
	}
	high := base
	high.Name = fmt.Sprintf("TargetTracking-%s-AlarmHigh-%s", s.Name, p.Name)
	high.EvaluationPeriods, high.DatapointsToAlarm = trackingHighDatapoints, trackingHighDatapoints
	high.ComparisonOperator, high.Threshold = cloudwatch.GreaterThanThreshold, tt.TargetValue
	out := []cloudwatch.AlarmConfig{high}
	if !tt.DisableScaleIn {
		low := base
		low.Name = fmt.Sprintf("TargetTracking-%s-AlarmLow-%s", s.Name, p.Name)
		low.EvaluationPeriods, low.DatapointsToAlarm = trackingLowDatapoints, trackingLowDatapoints
		low.ComparisonOperator, low.Threshold = cloudwatch.LessThanThreshold, math.Round(tt.TargetValue*trackingLowFactor*1e6)/1e6 // 30 → 21, not 20.999999999999996
		out = append(out, low)
	}
	return out, nil
}

// addTrackingAlarms creates a target tracking policy's alarms; every
// evaluation reaches the group, in ALARM or not, so that a policy withdraws
// its proposal when its alarm leaves ALARM.
func (l *Lab) addTrackingAlarms(p stack.ScalingPolicy) error {
	cfgs, err := trackingAlarms(l.opts.Stack, p)
	if err != nil {
		return err
	}
	for i, cfg := range cfgs {
		alarm, err := l.CloudWatch.AddAlarm(cfg)
		if err != nil {
			return fmt.Errorf("alarm for policy %s: %w", p.Name, err)
		}
		side := asg.AlarmHigh
		if i == 1 {
			side = asg.AlarmLow
		}
		policy := p.Name
		alarm.OnEvaluate(func(st cloudwatch.State, ev cloudwatch.Evaluation) {
			v, ok := latest(ev.Points)
			l.Group.TrackTarget(policy, ev.Alarm, side, st == cloudwatch.StateAlarm && ok, v)
		})
	}
	return nil
}

func latest(ps []cloudwatch.Point) (float64, bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if !ps[i].Missing {
			return ps[i].Value, true
		}
	}
	return 0, false
}

// albSampler publishes the nodes' counters as AWS/ApplicationELB metrics,
// every tick, as deltas; a quiet tick publishes no request metrics at all
// (no datapoint, not zero), as the ELB does.
type albSampler struct {
	l    *Lab
	last map[string]alb.Snapshot
}

func (a *albSampler) run(ctx context.Context, every time.Duration) {
	tk := a.l.Clock.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C():
			a.sample()
		}
	}
}

func (a *albSampler) sample() {
	now := a.l.Clock.Now()
	lbName := a.l.opts.Stack.Name
	put := func(name string, dims cloudwatch.Dimensions, v float64) {
		a.l.Metrics.Put(cloudwatch.Datum{Namespace: cloudwatch.NamespaceALB, MetricName: name, Dimensions: dims, Time: now, Value: v})
	}
	all := cloudwatch.Dims(cloudwatch.DimLoadBalancer, lbName)
	var requests int64
	healthy := 0
	for _, n := range a.l.LB.Nodes() {
		s := n.Metrics()
		prev := a.last[s.Zone]
		a.last[s.Zone] = s
		requests += s.RequestCount - prev.RequestCount
		zone := cloudwatch.Dims(cloudwatch.DimLoadBalancer, lbName, cloudwatch.DimAvailabilityZone, s.Zone)
		if a.l.LB.NodeUp(s.Zone) { // a stopped node checks nothing: its counts would be stale
			healthy = max(healthy, sum(s.HealthyHostCount))
			put(cloudwatch.MetricHealthyHostCount, zone, float64(sum(s.HealthyHostCount)))
			put(cloudwatch.MetricUnHealthyHostCount, zone, float64(sum(s.UnHealthyHostCount)))
		}
		counters := []struct {
			name string
			v    int64
		}{
			{cloudwatch.MetricRequestCount, s.RequestCount - prev.RequestCount},
			{cloudwatch.MetricHTTPCodeELB5XXCount, s.HTTPCode_ELB_5XX_Count - prev.HTTPCode_ELB_5XX_Count},
			{cloudwatch.MetricHTTPCodeELB502Count, s.HTTPCode_ELB_502_Count - prev.HTTPCode_ELB_502_Count},
			{cloudwatch.MetricHTTPCodeELB503Count, s.HTTPCode_ELB_503_Count - prev.HTTPCode_ELB_503_Count},
			{cloudwatch.MetricHTTPCodeELB504Count, s.HTTPCode_ELB_504_Count - prev.HTTPCode_ELB_504_Count},
			{cloudwatch.MetricHTTPCodeTarget2XXCount, s.HTTPCode_Target_2XX_Count - prev.HTTPCode_Target_2XX_Count},
			{cloudwatch.MetricHTTPCodeTarget4XXCount, s.HTTPCode_Target_4XX_Count - prev.HTTPCode_Target_4XX_Count},
			{cloudwatch.MetricHTTPCodeTarget5XXCount, s.HTTPCode_Target_5XX_Count - prev.HTTPCode_Target_5XX_Count},
			{cloudwatch.MetricUnhealthyRoutingRequestCount, s.UnhealthyRoutingRequestCount - prev.UnhealthyRoutingRequestCount},
		}
		for _, c := range counters {
			if c.v > 0 { // reported only when non-zero
				put(c.name, zone, float64(c.v))
				put(c.name, all, float64(c.v))
			}
		}
		if d := s.TargetResponses - prev.TargetResponses; d > 0 {
			avg := (s.TargetResponseTimeTotal - prev.TargetResponseTimeTotal) / time.Duration(d)
			put(cloudwatch.MetricTargetResponseTime, zone, avg.Seconds())
		}
	}
	if v, ok := requestCountPerTarget(requests, healthy, len(a.l.LB.Targets())); ok {
		put(cloudwatch.MetricRequestCountPerTarget, all, v)
	}
	a.sampleNodes(now)
}

// Target group health and Automatic Target Weights metrics, AWS's names
// (aws-behaviour.md 1.3, 1.4, 1.12; load-balancer-cloudwatch-metrics.html).
const (
	MetricHealthyStateRouting   = "HealthyStateRouting"   // zones meeting the unhealthy_state_routing threshold
	MetricUnhealthyStateRouting = "UnhealthyStateRouting" // zones below it: failing open
	MetricHealthyStateDNS       = "HealthyStateDNS"       // zones meeting the dns_failover threshold
	MetricUnhealthyStateDNS     = "UnhealthyStateDNS"     // zones below it: unhealthy in DNS
	MetricAnomalousHostCount    = "AnomalousHostCount"    // targets anomaly detection calls anomalous
	MetricMitigatedHostCount    = "MitigatedHostCount"    // targets whose traffic mitigation cuts
)

// The lab's own metric, not AWS's (AWS does not show its nodes' views):
// in its own namespace, so that nothing mistakes it for an ALB metric.
const (
	NamespaceLab = "Lab/ApplicationELB"
	// MetricNodeViewDisagreements is how many targets the live nodes'
	// gossiped views of target health do not agree on.
	MetricNodeViewDisagreements = "NodeViewDisagreementCount"
)

// sampleNodes publishes each live node's target group health (1 or 0 zone,
// per AvailabilityZone; the zone counts under the LoadBalancer alone) and
// its ATW counts, always (as AWS reports them), and the lab's count of
// targets the nodes' views disagree on. A stopped node publishes nothing.
func (a *albSampler) sampleNodes(now time.Time) {
	lb, lbName := a.l.LB, a.l.opts.Stack.Name
	put := func(ns, name string, dims cloudwatch.Dimensions, v float64) {
		a.l.Metrics.Put(cloudwatch.Datum{Namespace: ns, MetricName: name, Dimensions: dims, Time: now, Value: v})
	}
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	all := cloudwatch.Dims(cloudwatch.DimLoadBalancer, lbName)
	var routing, dns, live float64
	for _, n := range lb.Nodes() {
		z := n.Zone()
		if !lb.NodeUp(z) {
			continue
		}
		live++
		dims := cloudwatch.Dims(cloudwatch.DimLoadBalancer, lbName, cloudwatch.DimAvailabilityZone, z)
		r, d := one(lb.RoutingHealthy(z)), one(lb.DNSHealthy(z))
		routing, dns = routing+r, dns+d
		anomalous, mitigated := lb.AnomalyCounts(z)
		for _, m := range []struct {
			name string
			v    float64
		}{
			{MetricHealthyStateRouting, r}, {MetricUnhealthyStateRouting, 1 - r},
			{MetricHealthyStateDNS, d}, {MetricUnhealthyStateDNS, 1 - d},
			{MetricAnomalousHostCount, float64(anomalous)}, {MetricMitigatedHostCount, float64(mitigated)},
		} {
			put(cloudwatch.NamespaceALB, m.name, dims, m.v)
		}
	}
	if live > 0 {
		put(cloudwatch.NamespaceALB, MetricHealthyStateRouting, all, routing)
		put(cloudwatch.NamespaceALB, MetricUnhealthyStateRouting, all, live-routing)
		put(cloudwatch.NamespaceALB, MetricHealthyStateDNS, all, dns)
		put(cloudwatch.NamespaceALB, MetricUnhealthyStateDNS, all, live-dns)
	}
	if a.l.entry != nil && a.l.entry.cluster != nil {
		put(NamespaceLab, MetricNodeViewDisagreements, all, float64(len(a.l.ViewDisagreements())))
	}
}

// requestCountPerTarget is one sample of RequestCountPerTarget: the
// requests of the sample spread over the healthy targets (as the nodes see
// them; every registered target when none is healthy). Like the ELB it
// reports nothing when there was no traffic; the Sum over a minute is the
// requests per target per minute that ALBRequestCountPerTarget tracks.
func requestCountPerTarget(requests int64, healthy, registered int) (float64, bool) {
	n := healthy
	if n == 0 {
		n = registered
	}
	if requests <= 0 || n == 0 {
		return 0, false
	}
	return float64(requests) / float64(n), true
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
