package lab

import (
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// TestALBConfigCarriesTargetGroupSettings checks that what the stack says
// about the target group reaches the load balancer: its health thresholds
// and anomaly mitigation.
func TestALBConfigCarriesTargetGroupSettings(t *testing.T) {
	s, err := stack.Parse("s.yaml", []byte(`name: web
availability_zones: [us-east-1a, us-east-1b]
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
target_group:
  port: 80
  load_balancing_algorithm_type: weighted_random
  load_balancing_anomaly_mitigation: "on"
  target_group_health:
    unhealthy_state_routing: {minimum_healthy_targets_count: 2, minimum_healthy_targets_percentage: 40}
    dns_failover: {minimum_healthy_targets_count: "off", minimum_healthy_targets_percentage: 60}
`))
	if err != nil {
		t.Fatal(err)
	}
	zones, err := az.NewZones(s.Zones)
	if err != nil {
		t.Fatal(err)
	}
	c := clock.NewFake(time.Unix(0, 0))
	cfg := albConfig(s, zones, c, events.NewBus(c))
	want := alb.TargetGroupHealth{
		UnhealthyStateRouting: alb.MinimumHealthy{Count: 2, Percentage: 40},
		DNSFailover:           alb.MinimumHealthy{Count: 0, Percentage: 60},
	}
	if cfg.TargetGroupHealth == nil || *cfg.TargetGroupHealth != want {
		t.Fatalf("TargetGroupHealth %+v, want %+v", cfg.TargetGroupHealth, want)
	}
	if !cfg.AnomalyMitigation || cfg.Algorithm != alb.AlgorithmWeightedRandom {
		t.Fatalf("algorithm %s, anomaly mitigation %v", cfg.Algorithm, cfg.AnomalyMitigation)
	}
	if _, err := alb.New(cfg); err != nil {
		t.Fatalf("the load balancer refused the stack's settings: %v", err)
	}
}
