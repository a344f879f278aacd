package lab

import (
	"math/rand/v2"
	"os"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// albConfig reads the load balancer's settings from the stack.
func albConfig(s *stack.Stack, zones []az.Zone, c clock.Clock, bus *events.Bus) alb.Config {
	tg := s.TargetGroup
	hc := tg.HealthCheck
	r, d := tg.Health.UnhealthyStateRouting, tg.Health.DNSFailover
	return alb.Config{
		Zones:               zones,
		Port:                s.LoadBalancer.ListenerPort,
		IdleTimeout:         s.LoadBalancer.IdleTimeout,
		DeregistrationDelay: tg.DeregistrationDelay,
		CrossZone:           tg.CrossZoneEnabled(),
		Algorithm:           tg.Algorithm,
		SlowStart:           tg.SlowStart,
		AnomalyMitigation:   tg.AnomalyMitigationEnabled(),
		TargetGroupHealth: &alb.TargetGroupHealth{
			UnhealthyStateRouting: alb.MinimumHealthy{Count: r.Count, Percentage: r.Percentage},
			DNSFailover:           alb.MinimumHealthy{Count: d.Count, Percentage: d.Percentage},
		},
		HealthCheck: alb.HealthCheck{
			Path:       hc.Path,
			Interval:   hc.Interval,
			Timeout:    hc.Timeout,
			Thresholds: alb.Thresholds{Healthy: hc.HealthyThreshold, Unhealthy: hc.UnhealthyThreshold},
			Matches:    hc.Matches,
		},
		Clock:  c,
		Events: bus,

		// routing.http.desync_mitigation_mode and .drop_invalid_header_fields.enabled
		DesyncMitigationMode:    s.LoadBalancer.DesyncMitigationMode,
		DropInvalidHeaderFields: s.LoadBalancer.DropInvalidHeaderFields,

		// listener rules and stickiness (issue 16)
		TargetGroupName: s.TargetGroupNames()[0],
		TargetGroups:    extraTargetGroups(s), // the other services' (services.go)
		Rules:           listenerRules(s),
		DefaultAction:   defaultAction(s),
		Stickiness:      stickiness(tg.Stickiness),

		// the nodes' front: the event loop unless LAB_ALB_FRONT=goroutine
		GoroutineFront: os.Getenv(FrontEnv) == "goroutine",
	}
}

// FrontEnv chooses the load balancer nodes' front for a run: "goroutine"
// serves every connection with the goroutine front alone (a goroutine per
// client connection, net/http's reader); anything else (the default) puts
// sim/alb's event loop under each node's front. The loop was the default,
// then not, after ELB 502s at 2,000 requests per second on a starved host:
// the lab's own process out of file descriptors, which now makes a run
// INVALID (internal/fdlimit). Like for like on a quiet host (issue 17:
// zero-cost instances at 2,000 requests per second, the fronts alternated,
// three runs each), the loop passed all three at 100% success with 243-269
// us of the lab's CPU per request, and the goroutine front's three were
// INVALID (its load generator behind schedule, or out of descriptors) at
// 385-579 us.
const FrontEnv = "LAB_ALB_FRONT"

// groupConfig reads the Auto Scaling group's settings from the stack.
func groupConfig(s *stack.Stack, l *Lab) asg.Config { return groupConfigFor(s, l, l.fleet) }

// groupConfigFor is one service's group, its instances launched by f.
func groupConfigFor(s *stack.Stack, l *Lab, f *fleet) asg.Config {
	g := s.AutoScalingGroup
	return asg.Config{
		Name: s.Name, Zones: s.Zones, Min: g.MinSize, Max: g.MaxSize, Desired: g.DesiredCapacity,
		HealthCheckType: g.HealthCheckType, HealthCheckGracePeriod: g.HealthCheckGracePeriod,
		DefaultCooldown: g.DefaultCooldown, DefaultInstanceWarmup: g.DefaultInstanceWarmup,
		TerminationPolicies: g.TerminationPolicies, Policies: policies(s),
		LaunchTemplateVersion: s.LaunchTemplate.Version, MaintenancePolicy: maintenancePolicy(g.InstanceMaintenancePolicy),
		LifecycleHooks: lifecycleHooks(g.LifecycleHooks), ScheduledActions: scheduledActions(s.ScheduledActions),
		PendingTime: s.LaunchTemplate.PendingTime, Booter: f,
		Clock: l.Clock, Fleet: f, Targets: targets{lb: l.LB}, CPU: cpuSink{store: l.Metrics, group: s.Name},
		Events: l.Bus, Rand: rand.New(rand.NewPCG(l.opts.Seed, 0x617367)), Logger: l.opts.Logger,
		WarmPool: warmPool(g.WarmPool),
	}
}

// policies turns the stack's scaling policies into the group's.
func policies(s *stack.Stack) []asg.Policy {
	var out []asg.Policy
	for _, p := range s.ScalingPolicies {
		if ap, ok := policy(p); ok {
			out = append(out, ap)
		}
	}
	return out
}

// policy is one of the stack's scaling policies as the group's; false for a
// step or simple policy without its alarm.
func policy(p stack.ScalingPolicy) (asg.Policy, bool) {
	if p.PolicyType == stack.TargetTrackingScaling && p.TargetTracking != nil {
		tt := p.TargetTracking
		ap := asg.Policy{Name: p.Name, Type: asg.TargetTrackingScaling, TargetValue: tt.TargetValue, DisableScaleIn: tt.DisableScaleIn,
			MetricType: tt.PredefinedMetricType, Period: tt.Period, Warmup: p.EstimatedInstanceWarmup}
		return ap, true
	}
	if p.Alarm == nil {
		return asg.Policy{}, false
	}
	ap := asg.Policy{Name: p.Name, Type: p.PolicyType, AdjustmentType: p.AdjustmentType, Adjustment: p.ScalingAdjustment,
		MinAdjustment: p.MinAdjustmentMagnitude, Threshold: p.Alarm.Threshold}
	if p.PolicyType == stack.StepScaling {
		ap.Warmup = p.EstimatedInstanceWarmup // step and target tracking only
	}
	if p.Cooldown != nil {
		ap.Cooldown = *p.Cooldown
	}
	for _, st := range p.StepAdjustments {
		ap.Steps = append(ap.Steps, asg.Step{Lower: st.LowerBound, Upper: st.UpperBound, Adjustment: st.ScalingAdjustment})
	}
	return ap, true
}
