package stack

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const deployBase = `name: web
availability_zones: [us-east-1a, us-east-1b]
target_group: {port: 8080}
launch_template:
  command: [simplydone]
  environment: {SIMPLYDONE_VERSION: v1}
`

func TestDeployFieldsParse(t *testing.T) {
	s, err := Parse("s.yaml", []byte(deployBase+`  version: 2
  versions:
    - {version: 2, environment: {SIMPLYDONE_VERSION: v2}}
    - {version: 3, description: broken, environment: {SIMPLYDONE_BROKEN: health}}
auto_scaling_group:
  min_size: 1
  max_size: 4
  instance_maintenance_policy: {min_healthy_percentage: 100, max_healthy_percentage: 150}
  lifecycle_hooks:
    - {name: bootstrap, lifecycle_transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeat_timeout: 90s, default_result: CONTINUE}
    - {name: drain, lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING"}
scaling_policies:
  - name: cpu
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50, period: 60s}
scheduled_actions:
  - {name: sale, at: 10m, min_size: 2, max_size: 4, desired_capacity: 3}
  - {name: nightly, at: 1h, recurrence: 24h, desired_capacity: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	lt := s.LaunchTemplate
	if lt.Version != 2 || !lt.HasVersion(3) || lt.HasVersion(4) || lt.VersionEnvironment(3)["SIMPLYDONE_BROKEN"] != "health" || lt.VersionEnvironment(1) != nil {
		t.Errorf("launch template %+v", lt)
	}
	g := s.AutoScalingGroup
	if mp := g.InstanceMaintenancePolicy; mp == nil || mp.MinHealthyPercentage != 100 || mp.MaxHealthyPercentage != 150 {
		t.Errorf("maintenance policy %+v", mp)
	}
	if len(g.LifecycleHooks) != 2 || g.LifecycleHooks[0].HeartbeatTimeout != 90*time.Second ||
		g.LifecycleHooks[1].HeartbeatTimeout != time.Hour || g.LifecycleHooks[1].DefaultResult != "ABANDON" {
		t.Errorf("hooks %+v (defaults: 3600s, ABANDON)", g.LifecycleHooks)
	}
	if p := s.ScalingPolicies[0].TargetTracking.Period; p != time.Minute {
		t.Errorf("period %v", p)
	}
	if len(s.ScheduledActions) != 2 || *s.ScheduledActions[0].DesiredCapacity != 3 || s.ScheduledActions[1].Recurrence != 24*time.Hour || s.ScheduledActions[1].MinSize != nil {
		t.Errorf("scheduled actions %+v", s.ScheduledActions)
	}
}

func TestDeployFieldsReportEveryProblem(t *testing.T) {
	_, err := Parse("s.yaml", []byte(deployBase+`  version: 7
  versions:
    - {version: 1}
    - {environment: {LAB_X: y}}
auto_scaling_group:
  min_size: 1
  max_size: 4
  instance_maintenance_policy: {min_healthy_percentage: 20, max_healthy_percentage: 250}
  lifecycle_hooks:
    - {name: h, lifecycle_transition: launch, heartbeat_timeout: 10s, default_result: MAYBE}
scaling_policies:
  - name: cpu
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50, period: 20s}
scheduled_actions:
  - {name: s, at: 1m, recurrence: 10s}
`))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v", err)
	}
	text := err.Error()
	for _, want := range []string{
		"launch_template.versions[0].version: 1: allowed 2 or more",
		"launch_template.versions[1].version: missing",
		"launch_template.versions[1].environment.LAB_X: LAB_ is reserved",
		"launch_template.version: 7: the group starts on version 1 or a version listed",
		"auto_scaling_group.instance_maintenance_policy.max_healthy_percentage: 250: allowed 100 to 200",
		"auto_scaling_group.lifecycle_hooks[0].lifecycle_transition:",
		"auto_scaling_group.lifecycle_hooks[0].heartbeat_timeout: 10s is below AWS's minimum of 30s",
		"auto_scaling_group.lifecycle_hooks[0].default_result:",
		"scaling_policies[0].target_tracking.period: 20s is not allowed; use 60s (10s and 30s need a high-resolution custom metric)",
		"scheduled_actions[0].recurrence: 10s is below a minute",
		"scheduled_actions[0]: sets nothing",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("errors lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
	// every line names file:line:col
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(l, "s.yaml:") {
			t.Errorf("line without a position: %q", l)
		}
	}
}
