package stack

import (
	"errors"
	"strings"
	"testing"
)

// head is the start of a valid stack; bad cases append to it or replace it.
const head = `name: web
target_group: {port: 8080}
launch_template: {command: [app]}
`

const group = "auto_scaling_group: {min_size: 1, max_size: 3}\n"

// policy is a valid step policy header starting at line 5; cases add the alarm and steps.
const policy = `scaling_policies:
  - name: up
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
`

func TestBadStacks(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"interval below minimum", head + group + `load_balancer:
  idle_timeout: 0
`, []string{`s.yaml:6:17: load_balancer.idle_timeout: 0s is below AWS's minimum of 1s`}},
		{"health check interval", `name: web
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
target_group:
  port: 8080
  health_check:
    interval: 2s
`, []string{`s.yaml:7:15: target_group.health_check.interval: 2s is below AWS's minimum of 5s`}},
		// routing.http.desync_mitigation_mode: monitor, defensive or strictest (ALB user guide, load balancer attributes).
		{"desync mitigation mode", head + group + "load_balancer: {desync_mitigation_mode: strict}\n",
			[]string{`s.yaml:5:41: load_balancer.desync_mitigation_mode: "strict" is not allowed; use one of monitor, defensive, strictest; did you mean strictest?`}},
		{"drop_invalid_header_fields is a boolean", head + group + "load_balancer: {drop_invalid_header_fields: sometimes}\n",
			[]string{`s.yaml:5:45: load_balancer.drop_invalid_header_fields: "sometimes" is not true or false`}},
		{"wrong type for a duration", head + group + "load_balancer: {idle_timeout: soon}\n",
			[]string{`s.yaml:5:31: load_balancer.idle_timeout: "soon" is not a duration; use seconds (30) or a duration such as 30s or 5m`}},
		{"fraction of a second", head + group + "load_balancer: {idle_timeout: 1500ms}\n",
			[]string{`s.yaml:5:31: load_balancer.idle_timeout: 1.5s is not a whole number of seconds; AWS takes whole seconds`}},
		{"unknown key with hint", head + group + "load_balancer: {idle_timout: 30}\n",
			[]string{`s.yaml:5:17: load_balancer.idle_timout: unknown key; did you mean idle_timeout?`}},
		{"unknown key without hint", head + group + "colour: blue\n",
			[]string{`s.yaml:5:1: colour: unknown key; allowed keys are name, availability_zones, load_balancer, target_group, launch_template, auto_scaling_group, scaling_policies, scheduled_actions, cloudwatch, database, services, zones`}},
		{"camelCase key", head + group + "load_balancer: {idleTimeout: 30}\n",
			[]string{`s.yaml:5:17: load_balancer.idleTimeout: unknown key; did you mean idle_timeout?`}},
		{"duplicate key", head + group + "name: other\n",
			[]string{`s.yaml:5:1: name: given twice (first on line 1); give each key once`}},
		{"one zone", head + group + "availability_zones: [us-east-1a]\n",
			[]string{`s.yaml:5:21: availability_zones: 1 zone(s) given; an ALB needs at least 2`}},
		{"duplicate zone", head + group + "availability_zones: [us-east-1a, us-east-1a]\n",
			[]string{`s.yaml:5:34: availability_zones[1]: us-east-1a is listed twice; zone names must be unique`}},
		{"bad name", "name: web_tier\n" + head[len("name: web\n"):] + group,
			[]string{`s.yaml:1:7: name: "web_tier" is not a valid name; use 1-32 letters, digits and hyphens, not starting or ending with a hyphen`}},
		{"missing required keys", "name: web\nlaunch_template: {image: app:1}\n",
			[]string{
				`s.yaml:1:1: target_group.port: missing; give the port targets listen on (1-65535), as AWS requires`,
				`s.yaml:1:1: auto_scaling_group.min_size: missing; AWS requires the group's minimum size (0 or more)`,
				`s.yaml:1:1: auto_scaling_group.max_size: missing; AWS requires the group's maximum size (1 or more)`,
			}},
		{"port out of range", "name: web\ntarget_group: {port: 70000}\nlaunch_template: {command: [app]}\n" + group,
			[]string{`s.yaml:2:22: target_group.port: 70000 is not a port; use 1-65535`}},
		{"algorithm typo", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, load_balancing_algorithm_type: roundrobin}\n",
			[]string{`s.yaml:4:57: target_group.load_balancing_algorithm_type: "roundrobin" is not allowed; use one of round_robin, least_outstanding_requests, weighted_random; did you mean round_robin?`}},
		{"slow start with least outstanding requests", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, load_balancing_algorithm_type: least_outstanding_requests, slow_start: 60s}\n",
			[]string{`s.yaml:4:97: target_group.slow_start: slow start is not available with least_outstanding_requests; use 0 or the round_robin algorithm`}},
		{"slow start out of range", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, slow_start: 10}\n",
			[]string{`s.yaml:4:38: target_group.slow_start: 10s is not allowed; use 0 (off) or 30s to 900s`}},
		{"timeout not below interval", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, health_check: {interval: 10, timeout: 10}}\n",
			[]string{`s.yaml:4:64: target_group.health_check.timeout: 10s is not below the interval (10s); AWS needs timeout < interval`}},
		{"thresholds and matcher", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, health_check: {healthy_threshold: 11, unhealthy_threshold: 1, matcher: 200-600}}\n",
			[]string{
				`s.yaml:4:60: target_group.health_check.healthy_threshold: 11 is above AWS's maximum of 10`,
				`s.yaml:4:85: target_group.health_check.unhealthy_threshold: 1 is below AWS's minimum of 2`,
				`s.yaml:4:97: target_group.health_check.matcher: "200-600" has codes outside 200-499; AWS allows 200-499 for HTTP`,
			}},
		{"health check port and path", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, health_check: {port: web, path: health}}\n",
			[]string{
				`s.yaml:4:47: target_group.health_check.port: "web" is not allowed; use traffic-port or a port number 1-65535`,
				`s.yaml:4:58: target_group.health_check.path: "health" is not allowed; use a path that starts with / (at most 1024 characters)`,
			}},
		{"anomaly mitigation needs weighted random", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, load_balancing_anomaly_mitigation: on}\n",
			[]string{`s.yaml:4:61: target_group.load_balancing_anomaly_mitigation: anomaly mitigation is not available with round_robin; use off or the weighted_random algorithm`}},
		{"anomaly mitigation value", "name: web\nlaunch_template: {command: [app]}\n" + group +
			"target_group: {port: 80, load_balancing_algorithm_type: weighted_random, load_balancing_anomaly_mitigation: yes}\n",
			[]string{`s.yaml:4:109: target_group.load_balancing_anomaly_mitigation: "yes" is not allowed; use one of on, off`}},
		{"target group health values", "name: web\nlaunch_template: {command: [app]}\n" + group + `target_group:
  port: 80
  target_group_health:
    unhealthy_state_routing: {minimum_healthy_targets_count: off, minimum_healthy_targets_percentage: 101}
    dns_failover: {minimum_healthy_targets_count: 0, minimum_healthy_targets_percentage: half}
`, []string{
			`s.yaml:7:62: target_group.target_group_health.unhealthy_state_routing.minimum_healthy_targets_count: off is not allowed for routing failover; use a whole number from 1 (the default)`,
			`s.yaml:7:103: target_group.target_group_health.unhealthy_state_routing.minimum_healthy_targets_percentage: "101" is not allowed; use off or a whole number from 1 to 100`,
			`s.yaml:8:51: target_group.target_group_health.dns_failover.minimum_healthy_targets_count: "0" is not allowed; use off or a whole number from 1`,
			`s.yaml:8:90: target_group.target_group_health.dns_failover.minimum_healthy_targets_percentage: "half" is not allowed; use off or a whole number from 1 to 100`,
		}},
		{"dns failover below routing failover", "name: web\nlaunch_template: {command: [app]}\n" + group + `target_group:
  port: 80
  target_group_health:
    unhealthy_state_routing: {minimum_healthy_targets_count: 3, minimum_healthy_targets_percentage: 50}
    dns_failover: {minimum_healthy_targets_count: 2, minimum_healthy_targets_percentage: 40}
`, []string{
			`s.yaml:8:51: target_group.target_group_health.dns_failover.minimum_healthy_targets_count: 2 is below unhealthy_state_routing's 3; the DNS failover threshold must be greater than or equal to the routing failover threshold`,
			`s.yaml:8:90: target_group.target_group_health.dns_failover.minimum_healthy_targets_percentage: 40 is below unhealthy_state_routing's 50; the DNS failover threshold must be greater than or equal to the routing failover threshold`,
		}},
		{"command and image", "name: web\ntarget_group: {port: 80}\nlaunch_template: {command: [app], image: app:1}\n" + group,
			[]string{`s.yaml:3:42: launch_template.image: given with command; use one: command (process runtime) or image (Docker runtime)`}},
		{"unknown instance type", "name: web\ntarget_group: {port: 80}\nlaunch_template: {command: [app], instance_type: t3.mikro}\n" + group,
			[]string{`s.yaml:3:50: launch_template.instance_type: "t3.mikro" is not allowed; use one of c5.large, c5.xlarge, m5.large, m5.xlarge, t3.large, t3.medium, t3.micro, t3.nano, t3.small; did you mean t3.micro?`}},
		{"reserved environment variable", "name: web\ntarget_group: {port: 80}\nlaunch_template: {command: [app], environment: {LAB_PORT: 1}}\n" + group,
			[]string{`s.yaml:3:59: launch_template.environment.LAB_PORT: LAB_ is reserved for the variables the lab sets (LAB_ADDR, LAB_PORT, ...); pick another name`}},
		{"min above max", head + "auto_scaling_group: {min_size: 4, max_size: 3}\n",
			[]string{`s.yaml:4:32: auto_scaling_group.min_size: 4 is above max_size (3); AWS needs min_size <= desired_capacity <= max_size`}},
		{"desired above max", head + "auto_scaling_group: {min_size: 1, max_size: 3, desired_capacity: 5}\n",
			[]string{`s.yaml:4:66: auto_scaling_group.desired_capacity: 5 is above max_size (3); AWS needs min_size <= desired_capacity <= max_size`}},
		{"wrong type for a size", head + "auto_scaling_group: {min_size: one, max_size: 3}\n",
			[]string{`s.yaml:4:32: auto_scaling_group.min_size: "one" is not a whole number`}},
		{"termination policies", head + "auto_scaling_group: {min_size: 1, max_size: 3, termination_policies: [Default, OldestInstance, Newest]}\n",
			[]string{
				`s.yaml:4:71: auto_scaling_group.termination_policies[0]: Default must come last; AWS evaluates the policies in order`,
				`s.yaml:4:96: auto_scaling_group.termination_policies[2]: "Newest" is not allowed; use one of OldestInstance, NewestInstance, OldestLaunchTemplate, OldestLaunchConfiguration, ClosestToNextInstanceHour, AllocationStrategy, Default; did you mean NewestInstance?`,
			}},
		{"health check type and warmup", head + "auto_scaling_group: {min_size: 1, max_size: 3, health_check_type: ALB, default_instance_warmup: 2h}\n",
			[]string{
				`s.yaml:4:67: auto_scaling_group.health_check_type: "ALB" is not allowed; use one of EC2, ELB; did you mean ELB?`,
				`s.yaml:4:97: auto_scaling_group.default_instance_warmup: 7200s is above AWS's maximum of 3600s`,
			}},
		{"step policy without alarm or steps", head + group + policy,
			[]string{
				`s.yaml:6:5: scaling_policies[0].step_adjustments: missing; a StepScaling policy needs it`,
				`s.yaml:6:5: scaling_policies[0].alarm: missing; a StepScaling policy needs it`,
			}},
		{"steps with a gap", head + group + policy + `    step_adjustments:
      - {metric_interval_lower_bound: 0, metric_interval_upper_bound: 10, scaling_adjustment: 1}
      - {metric_interval_lower_bound: 20, scaling_adjustment: 2}
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60, evaluation_periods: 1}
`, []string{`s.yaml:11:9: scaling_policies[0].step_adjustments[1]: step [20, +infinity) leaves a gap after step [0, 10); steps must not overlap or leave gaps`}},
		{"step with both bounds open", head + group + policy + `    step_adjustments: [{scaling_adjustment: 1}]
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60, evaluation_periods: 1}
`, []string{`s.yaml:9:24: scaling_policies[0].step_adjustments[0]: both bounds are open; give metric_interval_lower_bound or metric_interval_upper_bound`}},
		{"alarm values", head + group + policy + `    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: 1}]
    alarm:
      metric_name: CPUUtilization
      namespace: AWS/EC2
      statistic: Avg
      comparison_operator: GreaterThan
      threshold: high
      period: 45s
      evaluation_periods: 2
      datapoints_to_alarm: 3
      treat_missing_data: notbreaching
`, []string{
			`s.yaml:13:18: scaling_policies[0].alarm.statistic: "Avg" is not allowed; use one of Average, Sum, Minimum, Maximum, SampleCount`,
			`s.yaml:14:28: scaling_policies[0].alarm.comparison_operator: "GreaterThan" is not allowed; use one of GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold; did you mean GreaterThanThreshold?`,
			`s.yaml:15:18: scaling_policies[0].alarm.threshold: "high" is not a number`,
			`s.yaml:16:15: scaling_policies[0].alarm.period: 45s is not allowed; use 10s, 30s or a multiple of 60s`,
			`s.yaml:18:28: scaling_policies[0].alarm.datapoints_to_alarm: 3 is above evaluation_periods (2); an alarm needs M of its N periods, M <= N`,
			`s.yaml:19:27: scaling_policies[0].alarm.treat_missing_data: "notbreaching" is not allowed; use one of missing, notBreaching, breaching, ignore; did you mean notBreaching?`,
		}},
		{"target tracking with an alarm", head + group + `scaling_policies:
  - name: cpu
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: CPUUtilization, target_value: 0}
    alarm: {metric_name: CPUUtilization}
`, []string{
			`s.yaml:8:47: scaling_policies[0].target_tracking.predefined_metric_type: "CPUUtilization" is not allowed; use one of ASGAverageCPUUtilization, ASGAverageNetworkIn, ASGAverageNetworkOut, ALBRequestCountPerTarget; did you mean ASGAverageCPUUtilization?`,
			`s.yaml:8:77: scaling_policies[0].target_tracking.target_value: 0 is not allowed; the target value must be above 0`,
			`s.yaml:9:12: scaling_policies[0].alarm: not allowed in a TargetTrackingScaling policy (AWS creates and manages its alarms); remove it`,
		}},
		{"duplicate policy names and bad type", head + group + `scaling_policies:
  - {name: a, policy_type: TargetTrackingScaling, target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50}}
  - {name: a, policy_type: Predictive}
`, []string{
			`s.yaml:7:12: scaling_policies[1].name: a is already the name of scaling_policies[0]; policy names must be unique`,
			`s.yaml:7:28: scaling_policies[1].policy_type: "Predictive" is not allowed; use one of SimpleScaling, StepScaling, TargetTrackingScaling`,
		}},
		{"simple policy takes no steps", head + group + `scaling_policies:
  - name: up
    adjustment_type: PercentChangeInCapacity
    scaling_adjustment: 10
    min_adjustment_magnitude: 0
    step_adjustments: []
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60, evaluation_periods: 1}
`, []string{
			`s.yaml:9:31: scaling_policies[0].min_adjustment_magnitude: 0 is below AWS's minimum of 1`,
			`s.yaml:10:23: scaling_policies[0].step_adjustments: not allowed in a SimpleScaling policy; remove it`,
		}},
		{"wrong shape", head + group + "load_balancer: [80]\nscaling_policies: {name: a}\n",
			[]string{
				`s.yaml:5:16: load_balancer: want a mapping (key: value), got a list`,
				`s.yaml:6:19: scaling_policies: want a list, got a mapping`,
			}},
		{"not a mapping", "- web\n", []string{`s.yaml: not a stack file: its top level is not a mapping with any of the keys name, availability_zones, load_balancer, target_group, launch_template, auto_scaling_group, scaling_policies, scheduled_actions, cloudwatch, database, services, zones (its content is not shown)`}},
		{"second document", head + group + "---\nname: other\n",
			[]string{`s.yaml:5: a second YAML document (---); a stack file holds one`}},
		// yaml.v3 reports the line before the bad indentation; the error keeps yaml's line.
		{"syntax error", "name: web\ntarget_group:\n  port: 80\n bad: indent\n",
			[]string{`s.yaml:3: YAML syntax: did not find expected key`}},
		{"empty file", "",
			[]string{`s.yaml: the file is empty; a stack needs at least name, target_group.port, launch_template and auto_scaling_group`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: got %v, want *Errors", err)
			}
			if got, want := err.Error(), strings.Join(c.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestEveryProblemReported checks that one file with problems in every
// section reports them all, sorted by line.
func TestEveryProblemReported(t *testing.T) {
	src := `name: web
availability_zones: [us-east-1a]
load_balancer:
  listener: {port: 0, protocol: HTTPS}
target_group:
  port: 8080
  health_check: {interval: 400s, timeout: 1, matcher: ok}
launch_template: {command: [app], instance_type: huge}
auto_scaling_group: {min_size: 2, max_size: 1, colour: red}
scaling_policies:
  - {name: up, policy_type: SimpleScaling, adjustment_type: ChangeInCapacity, scaling_adjustment: 1}
`
	want := []string{
		`s.yaml:2:21: availability_zones: 1 zone(s) given; an ALB needs at least 2`,
		`s.yaml:4:20: load_balancer.listener.port: 0 is not a port; use 1-65535`,
		`s.yaml:4:33: load_balancer.listener.protocol: "HTTPS" is not supported; use HTTP (the lab does not terminate TLS)`,
		`s.yaml:7:28: target_group.health_check.interval: 400s is above AWS's maximum of 300s`,
		`s.yaml:7:43: target_group.health_check.timeout: 1s is below AWS's minimum of 2s`,
		`s.yaml:7:55: target_group.health_check.matcher: "ok" is not a list of codes; use codes 200-499 as in 200, 200,202 or 200-299`,
		`s.yaml:8:50: launch_template.instance_type: "huge" is not allowed; use one of c5.large, c5.xlarge, m5.large, m5.xlarge, t3.large, t3.medium, t3.micro, t3.nano, t3.small`,
		`s.yaml:9:32: auto_scaling_group.min_size: 2 is above max_size (1); AWS needs min_size <= desired_capacity <= max_size`,
		`s.yaml:9:48: auto_scaling_group.colour: unknown key; allowed keys are min_size, max_size, desired_capacity, health_check_type, health_check_grace_period, default_cooldown, default_instance_warmup, termination_policies, capacity_distribution_strategy, instance_maintenance_policy, lifecycle_hooks, warm_pool`,
		`s.yaml:11:5: scaling_policies[0].alarm: missing; a SimpleScaling policy needs it`,
	}
	_, err := Parse("s.yaml", []byte(src))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: got %v, want *Errors", err)
	}
	if len(errs.List) != len(want) {
		t.Errorf("got %d errors, want %d", len(errs.List), len(want))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		err  Error
		want string
	}{
		{Error{File: "stack.yaml", Line: 14, Col: 5, Field: "target_group.health_check.interval", Msg: "2s is below AWS's minimum of 5s"},
			"stack.yaml:14:5: target_group.health_check.interval: 2s is below AWS's minimum of 5s"},
		{Error{File: "stack.yaml", Line: 3, Msg: "YAML syntax: x"}, "stack.yaml:3: YAML syntax: x"},
		{Error{File: "stack.yaml", Msg: "the file is empty"}, "stack.yaml: the file is empty"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
