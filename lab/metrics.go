package lab

import (
	"context"
	"fmt"
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

// policies turns the stack's step and simple policies into the group's.
func policies(s *stack.Stack) []asg.Policy {
	var out []asg.Policy
	for _, p := range s.ScalingPolicies {
		if p.Alarm == nil {
			continue // target tracking arrives in a later issue
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
func (l *Lab) addAlarms() error {
	s := l.opts.Stack
	for _, p := range s.ScalingPolicies {
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
	for _, n := range a.l.LB.Nodes() {
		s := n.Metrics()
		prev := a.last[s.Zone]
		a.last[s.Zone] = s
		zone := cloudwatch.Dims(cloudwatch.DimLoadBalancer, lbName, cloudwatch.DimAvailabilityZone, s.Zone)
		put(cloudwatch.MetricHealthyHostCount, zone, float64(sum(s.HealthyHostCount)))
		put(cloudwatch.MetricUnHealthyHostCount, zone, float64(sum(s.UnHealthyHostCount)))
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
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
