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

// The scaling path, as on AWS: the group samples its instances' CPU as EC2
// does and cpuSink puts it into CloudWatch; each alarm is bound to the
// policy it runs by one action (bindAlarm); the group acts (asg.OnAlarm).

// newMetricStore is the run's CloudWatch metric store, publishing each
// namespace as AWS does: EC2's CPU every minute or every 5 minutes (the
// launch template's monitoring), the load balancer's every minute, each
// visible to alarms only the stack's publication delay after its period
// ends; custom metrics as put, after the custom delay.
func newMetricStore(s *stack.Stack) *cloudwatch.Store {
	cw := s.CloudWatch
	return cloudwatch.NewStore(
		cloudwatch.WithPublication(cloudwatch.NamespaceEC2, cloudwatch.EC2Publication(cloudwatch.Monitoring(s.LaunchTemplate.Monitoring), cw.Delay(stack.NamespaceEC2))),
		cloudwatch.WithPublication(cloudwatch.NamespaceALB, cloudwatch.ALBPublication(cw.Delay(stack.NamespaceALB))),
		// RDS publishes every minute; AWS documents no delay: the custom
		// namespace's assumed one.
		cloudwatch.WithPublication(cloudwatch.NamespaceRDS, cloudwatch.Publication{Resolution: time.Minute, Delay: cw.Delay(stack.NamespaceCustom)}),
		cloudwatch.WithCustomPublication(cloudwatch.Publication{Delay: cw.Delay(stack.NamespaceCustom)}),
	)
}

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

// addAlarms creates every scaling policy's alarms, in the policies' order:
// a step or simple policy's own alarm, the two alarms AWS builds for a
// target tracking policy (asg.TrackingAlarms).
func (l *Lab) addAlarms() error {
	if len(l.services) == 0 {
		return l.addServiceAlarms(l.opts.Stack, l.Group)
	}
	for _, sv := range l.services {
		if err := l.addServiceAlarms(sv.st, sv.group); err != nil {
			return err
		}
	}
	return nil
}

// addServiceAlarms creates one service's policies' alarms (services.go),
// bound to its group: on its group's metrics, and on its target group's
// for a load balancer metric when the stack has several services.
func (l *Lab) addServiceAlarms(s *stack.Stack, g *asg.Group) error {
	for _, p := range s.ScalingPolicies {
		var alarms []asg.Alarm
		switch {
		case p.PolicyType == stack.TargetTrackingScaling && p.TargetTracking != nil:
			tp, _ := policy(p)
			var err error
			if alarms, err = asg.TrackingAlarms(s.Name, s.Name, tp); err != nil {
				return err
			}
		case p.Alarm != nil:
			alarms = []asg.Alarm{policyAlarm(s, p)}
		}
		for _, a := range alarms {
			l.serviceDims(s, &a)
			if err := l.bindAlarmFor(g, a); err != nil {
				return fmt.Errorf("alarm for policy %s: %w", p.Name, err)
			}
		}
	}
	return nil
}

// policyAlarm is a step or simple policy's alarm from the stack: on the
// group's metric, the load balancer's for an AWS/ApplicationELB metric, or a
// DB instance's for an AWS/RDS metric.
func policyAlarm(s *stack.Stack, p stack.ScalingPolicy) asg.Alarm {
	a := p.Alarm
	dims := map[string]string{cloudwatch.DimAutoScalingGroupName: s.Name}
	if a.Namespace == cloudwatch.NamespaceALB {
		dims = map[string]string{cloudwatch.DimLoadBalancer: s.Name}
	}
	if a.Namespace == cloudwatch.NamespaceRDS {
		dims = map[string]string{DimDBInstanceIdentifier: s.AlarmDBInstance(*a)}
	}
	return asg.Alarm{Name: p.Name, Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: dims, Statistic: a.Statistic,
		Period: a.Period, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm,
		ComparisonOperator: a.ComparisonOperator, Threshold: a.Threshold, TreatMissingData: a.TreatMissingData,
		Action: asg.AlarmAction{Policy: p.Name}}
}

// bindAlarm is the one place an alarm is bound to the policy it runs: it
// creates the alarm in CloudWatch with its action, as PutMetricAlarm's
// AlarmActions carry the policy's ARN, and every evaluation invokes that
// action on the group (the group decides what the policy's type does with
// it: asg.Group.OnAlarm).
func (l *Lab) bindAlarm(a asg.Alarm) error { return l.bindAlarmFor(nil, a) }

// bindAlarmFor binds a to group g's policy (nil: l.Group).
func (l *Lab) bindAlarmFor(g *asg.Group, a asg.Alarm) error {
	alarm, err := l.CloudWatch.AddAlarm(cloudwatch.AlarmConfig{
		Name: a.Name, Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: dims(a.Dimensions), Statistic: a.Statistic,
		Period: a.Period, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm,
		ComparisonOperator: a.ComparisonOperator, Threshold: a.Threshold, TreatMissingData: a.TreatMissingData,
	})
	if err != nil {
		return err
	}
	action := a.Action
	alarm.OnEvaluate(func(st cloudwatch.State, ev cloudwatch.Evaluation) {
		if !ev.Act {
			return // in ALARM, and the action already ran within the minute
		}
		v, ok := latest(ev.Points)
		group := g
		if group == nil {
			group = l.Group
		}
		group.OnAlarm(action, ev.Alarm, st == cloudwatch.StateAlarm && ok, v)
	})
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

// dims is a part's dimensions (name to value) as CloudWatch's sorted set.
func dims(m map[string]string) cloudwatch.Dimensions {
	pairs := make([]string, 0, 2*len(m))
	for n, v := range m {
		pairs = append(pairs, n, v)
	}
	return cloudwatch.Dims(pairs...)
}

// metricStore is CloudWatch's PutMetricData for the parts that publish
// metrics without importing CloudWatch (alb.MetricSink).
type metricStore struct{ store *cloudwatch.Store }

func (s *metricStore) PutMetric(namespace, metric string, d map[string]string, t time.Time, v float64) {
	s.store.Put(cloudwatch.Datum{Namespace: namespace, MetricName: metric, Dimensions: dims(d), Time: t, Value: v})
}

// The lab's own metric, not AWS's (AWS does not show its nodes' views):
// in its own namespace, so that nothing mistakes it for an ALB metric.
const (
	NamespaceLab = "Lab/ApplicationELB"
	// MetricNodeViewDisagreements is how many targets the live nodes'
	// gossiped views of target health do not agree on.
	MetricNodeViewDisagreements = "NodeViewDisagreementCount"
)

// metricsSampler publishes, every tick, the load balancer's metrics
// (alb.MetricPublisher) and the lab's count of targets the nodes' gossiped
// views disagree on, into the run's metric store.
type metricsSampler struct {
	l    *Lab
	sink *metricStore
	elb  *alb.MetricPublisher
}

func (l *Lab) newMetricsSampler() *metricsSampler {
	sink := &metricStore{store: l.Metrics}
	return &metricsSampler{l: l, sink: sink, elb: alb.NewMetricPublisher(l.LB, l.opts.Stack.Name, sink)}
}

func (m *metricsSampler) run(ctx context.Context, every time.Duration) {
	tk := m.l.Clock.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C():
			m.sample()
		}
	}
}

func (m *metricsSampler) sample() {
	now := m.l.Clock.Now()
	m.elb.Publish(now)
	if m.l.entry != nil && m.l.entry.cluster != nil {
		m.sink.PutMetric(NamespaceLab, MetricNodeViewDisagreements, m.elb.Dimensions(), now, float64(len(m.l.ViewDisagreements())))
	}
}
