package export

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

// A stack with services exports to Terraform: a target group, launch
// template, group, policies and alarms per service, each named after it;
// the rule forwards to the listing's target group and the default action
// to the api's. The module validates offline.
func TestServicesTerraform(t *testing.T) {
	s, err := stack.Builtin("services")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"load_balancer.tf": {`resource "aws_lb_target_group" "api"`, `resource "aws_lb_target_group" "listing"`, `= "listing"`,
			`target_group_arn = aws_lb_target_group.listing.arn`, `target_group_arn = aws_lb_target_group.api.arn`},
		"compute.tf": {`resource "aws_autoscaling_group" "api"`, `resource "aws_autoscaling_group" "listing"`, `= [aws_lb_target_group.listing.arn]`,
			`resource "aws_vpc_security_group_ingress_rule" "instance_from_alb_listing"`, `templatefile("${path.module}/user_data_listing.sh.tftpl", { image = var.image_listing })`},
		"scaling.tf": {`resource "aws_autoscaling_policy" "listing_listing_cpu_high"`, `autoscaling_group_name = aws_autoscaling_group.listing.name`,
			`AutoScalingGroupName = aws_autoscaling_group.listing.name`},
		"variables.tf":               {`variable "image_api"`, `variable "image_listing"`},
		"outputs.tf":                 {`output "asg_names"`},
		"user_data_listing.sh.tftpl": {"8081"},
	} {
		got := string(files[name])
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, got)
			}
		}
	}
	if _, ok := files["user_data.sh.tftpl"]; ok {
		t.Error("a one-service user_data.sh.tftpl beside the services'")
	}
	if refs := checkRefs(parseModule(t, files)); len(refs) != 0 {
		t.Errorf("dangling references: %v", refs)
	}

	// TestTerraformValidate runs terraform validate and fmt on this export.
}

// The same stack as a CloudFormation template: a target group, launch
// template, group, policies and alarms per service (logical ids ending in
// the service's name), each group's image a parameter of its own; the
// template checks against the resource spec.
func TestServicesCloudFormation(t *testing.T) {
	s, err := stack.Builtin("services")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := CloudFormation(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(tmpl)
	for _, w := range []string{"  TargetGroupApi:\n", "  TargetGroupListing:\n", "  AutoScalingGroupListing:\n", "  LaunchTemplateApi:\n",
		"  ListingListingCpuHighPolicy:\n", "  ContainerImageListing:\n", "  AutoScalingGroupNameApi:\n", "${ContainerImageListing}",
		"TargetGroupArn:\n            Ref: TargetGroupListing", "TargetGroupArn:\n            Ref: TargetGroupApi"} {
		if !strings.Contains(got, w) {
			t.Errorf("the template lacks %q", w)
		}
	}
	if strings.Contains(got, "  TargetGroup:\n") || strings.Contains(got, "Ref: AutoScalingGroup\n") {
		t.Error("a one-service logical id in a template with services")
	}
	for _, p := range checkTemplate(t, readSpec(t), tmpl) {
		t.Error(p)
	}
}

// A weighted forward's target group stickiness (AWSALBTG) is Terraform's
// forward { stickiness { enabled, duration } } and CloudFormation's
// ForwardConfig.TargetGroupStickinessConfig; a one-group forward with it
// is written as a forward block too (target_group_arn has no stickiness).
func TestGroupStickinessExport(t *testing.T) {
	s, err := stack.Load(filepath.Join("..", "tfimport", "testdata", "roundtrip", "weighted-group-sticky.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lb := string(files["load_balancer.tf"])
	for _, w := range []string{"stickiness {\n        enabled  = true\n        duration = 3600\n", "duration = 600\n"} {
		if !strings.Contains(strings.Join(strings.Fields(lb), " "), strings.Join(strings.Fields(w), " ")) {
			t.Errorf("load_balancer.tf lacks %q:\n%s", w, lb)
		}
	}
	if refs := checkRefs(parseModule(t, files)); len(refs) != 0 {
		t.Errorf("unresolved references: %v", refs)
	}
	tmpl, err := CloudFormation(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(string(tmpl)), " ")
	for _, w := range []string{"TargetGroupStickinessConfig: Enabled: true DurationSeconds: 3600", "TargetGroupStickinessConfig: Enabled: true DurationSeconds: 600"} {
		if !strings.Contains(got, w) {
			t.Errorf("the template lacks %q", w)
		}
	}
	for _, p := range checkTemplate(t, readSpec(t), tmpl) {
		t.Error(p)
	}
}
