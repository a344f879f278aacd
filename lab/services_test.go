package lab

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// TestRunServicesScaleOnTheirOwn runs a stack of two services behind a
// path rule: the list (GET /api/todos) goes to listing, the rest to api.
// Each service's policy tracks its own target group's
// RequestCountPerTarget, so the list-heavy load scales listing out and
// leaves api alone; the summary breaks traffic and scaling down per
// service. About 30 s of wall time at speed 20.
func TestRunServicesScaleOnTheirOwn(t *testing.T) {
	const port = 18561
	policy := func(name string) string {
		// more than 60 requests per target per minute (one a second) adds one
		return fmt.Sprintf(`    scaling_policies:
      - name: %s-requests
        policy_type: StepScaling
        adjustment_type: ChangeInCapacity
        step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: 1}]
        alarm: {metric_name: RequestCountPerTarget, namespace: AWS/ApplicationELB, statistic: Sum, comparison_operator: GreaterThanThreshold, threshold: 60, period: 60s, evaluation_periods: 1}
`, name)
	}
	service := func(name string, port int) string {
		return fmt.Sprintf(`  - name: %s
    target_group:
      port: %d
      deregistration_delay: 0
      health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
    launch_template: {command: [%q], pending_time: 0s}
    auto_scaling_group: {min_size: 1, max_size: 3, desired_capacity: 1, default_cooldown: 60s}
`, name, port, simplydone) + policy(name)
	}
	s, err := stack.Parse("two.yaml", []byte(fmt.Sprintf(`name: two
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener:
    port: %d
    rules:
      - priority: 10
        conditions: [{path_pattern: ["/api/todos"]}, {http_request_method: [GET]}]
        action: {forward: listing}
    default_action: {forward: api}
services:
`, port)+service("api", port)+service("listing", port+1)))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("two.yaml", []byte(`name: two
stack: two
speed: 20
load:
  mix: {list: 19, create: 1}
  phases: [{name: lists, duration: 8m, rate: 40}]
slos: [lost_writes == 0]
`))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	sum.WriteText(&text)
	if len(sum.Services) != 2 || sum.Services[0].Name != "api" || sum.Services[1].Name != "listing" {
		t.Fatalf("services in the summary: %+v\n%s", sum.Services, text.String())
	}
	api, listing := sum.Services[0], sum.Services[1]
	t.Logf("api %+v\nlisting %+v", api, listing)
	if api.Requests == 0 || listing.Requests < 10*api.Requests {
		t.Errorf("requests api %d, listing %d: the rule should send about 19 lists to listing per create to api", api.Requests, listing.Requests)
	}
	if api.Requests+listing.Requests < int64(sum.Requests)*9/10 {
		t.Errorf("the services' requests (%d + %d) are not the run's (%d)", api.Requests, listing.Requests, sum.Requests)
	}
	if listing.Scaling.ScaleOuts == 0 || listing.InService.Max < 2 {
		t.Errorf("listing did not scale out on its own requests per target: %+v", listing)
	}
	if api.Scaling.ScaleOuts != 0 || api.InService.Max != 1 {
		t.Errorf("api scaled out on listing's load: %+v", api)
	}
	if sum.LostWrites != 0 || sum.AcknowledgedWrites == 0 {
		t.Errorf("writes: %d acknowledged, %d lost", sum.AcknowledgedWrites, sum.LostWrites)
	}
	if !strings.Contains(text.String(), "\nServices\n  api ") {
		t.Errorf("the text summary has no per-service lines:\n%s", text.String())
	}
}
