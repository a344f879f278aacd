package lab

import (
	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// albConfig reads the load balancer's settings from the stack.
func albConfig(s *stack.Stack, zones []az.Zone, c clock.Clock, bus *events.Bus) alb.Config {
	tg := s.TargetGroup
	hc := tg.HealthCheck
	return alb.Config{
		Zones:               zones,
		Port:                s.LoadBalancer.ListenerPort,
		IdleTimeout:         s.LoadBalancer.IdleTimeout,
		DeregistrationDelay: tg.DeregistrationDelay,
		CrossZone:           tg.CrossZoneEnabled(),
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
