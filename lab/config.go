package lab

import (
	"math/rand/v2"

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
	}
}

// groupConfig reads the Auto Scaling group's settings from the stack.
func groupConfig(s *stack.Stack, l *Lab) asg.Config {
	g := s.AutoScalingGroup
	return asg.Config{
		Name: s.Name, Zones: s.Zones, Min: g.MinSize, Max: g.MaxSize, Desired: g.DesiredCapacity,
		HealthCheckType: g.HealthCheckType, HealthCheckGracePeriod: g.HealthCheckGracePeriod,
		DefaultCooldown: g.DefaultCooldown, DefaultInstanceWarmup: g.DefaultInstanceWarmup,
		TerminationPolicies: g.TerminationPolicies, Policies: policies(s),
		LaunchTemplateVersion: s.LaunchTemplate.Version, MaintenancePolicy: maintenancePolicy(g.InstanceMaintenancePolicy),
		LifecycleHooks: lifecycleHooks(g.LifecycleHooks), ScheduledActions: scheduledActions(s.ScheduledActions),
		Clock: l.Clock, Fleet: l.fleet, Targets: targets{l.LB}, CPU: cpuSink{store: l.Metrics, group: s.Name},
		Events: l.Bus, Rand: rand.New(rand.NewPCG(l.opts.Seed, 0x617367)), Logger: l.opts.Logger,
	}
}
