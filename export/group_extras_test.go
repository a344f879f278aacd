package export

import (
	"errors"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

const extrasStack = `name: extras
availability_zones: [us-east-1a, us-east-1b]
target_group: {port: 8080, health_check: {path: /health}}
launch_template: {command: [simplydone]}
auto_scaling_group:
  min_size: 1
  max_size: 6
  instance_maintenance_policy: {min_healthy_percentage: 100, max_healthy_percentage: 150}
  lifecycle_hooks:
    - {name: drain, lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeat_timeout: 60s, default_result: CONTINUE}
scheduled_actions:
  - {name: sale, at: 10m, min_size: 3, max_size: 6}
  - {name: every-6h, at: 1h, recurrence: 6h, desired_capacity: 2}
`

func extras(t *testing.T, extra string) *stack.Stack {
	t.Helper()
	s, err := stack.Parse("extras.yaml", []byte(extrasStack+extra))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The maintenance policy, hooks and scheduled actions go to Terraform
// (TestTerraformValidate validates the module).
func TestTerraformGroupExtras(t *testing.T) {
	files, err := Terraform(extras(t, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	compute, scaling, vars := string(files["compute.tf"]), string(files["scaling.tf"]), string(files["variables.tf"])
	for _, want := range []string{"instance_maintenance_policy {", "min_healthy_percentage = 100", "max_healthy_percentage = 150",
		"initial_lifecycle_hook {", `lifecycle_transition = "autoscaling:EC2_INSTANCE_TERMINATING"`, "heartbeat_timeout    = 60"} {
		if !strings.Contains(compute, want) {
			t.Errorf("compute.tf lacks %q", want)
		}
	}
	for _, want := range []string{`resource "aws_autoscaling_schedule" "sale"`, `start_time             = timeadd(var.schedule_start, "600s")`,
		`recurrence             = "0 */6 * * *"`, "desired_capacity       = 2"} {
		if !strings.Contains(scaling, want) {
			t.Errorf("scaling.tf lacks %q", want)
		}
	}
	if !strings.Contains(vars, `variable "schedule_start"`) {
		t.Error("variables.tf lacks schedule_start")
	}
	if t.Failed() {
		t.Logf("compute.tf:\n%s\nscaling.tf:\n%s", compute, scaling)
	}
	// TestTerraformValidate runs terraform validate on this export.
}

// What a format cannot hold is refused by field, never dropped.
func TestGroupExtrasTheFormatsCannotHold(t *testing.T) {
	_, err := CloudFormation(extras(t, ""), Options{})
	var errs *stack.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("CloudFormation: %v", err)
	}
	for _, want := range []string{"auto_scaling_group.instance_maintenance_policy: cannot be written to CloudFormation", "scheduled_actions: cannot be written to CloudFormation"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CloudFormation errors lack %q:\n%v", want, err)
		}
	}
	// (A 10 s target tracking period on a predefined metric is refused by
	// the stack itself now, before any export.)
	_, err = Terraform(extras(t, `  - {name: odd, at: 2m, recurrence: 7m, desired_capacity: 2}
`), Options{})
	for _, want := range []string{"scheduled_actions[2].recurrence: 7m0s has no cron equivalent"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Terraform errors lack %q:\n%v", want, err)
		}
	}
}
