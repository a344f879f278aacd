package tfimport

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tier is a minimal valid configuration the bad-input cases break.
const tier = `
resource "aws_lb" "this" {
  name = "shop"
}

resource "aws_lb_target_group" "this" {
  port     = 8080
  protocol = "HTTP"
}

resource "aws_lb_listener" "this" {
  load_balancer_arn = aws_lb.this.arn
  port              = 8080
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

resource "aws_autoscaling_group" "this" {
  min_size          = 1
  max_size          = 2
  target_group_arns = [aws_lb_target_group.this.arn]
}
`

func dirWith(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTheMinimalTierImports(t *testing.T) {
	r, err := Terraform(dirWith(t, map[string]string{"main.tf": tier}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "healthy threshold (provider default)", r.Stack.TargetGroup.HealthCheck.HealthyThreshold, 3)
	// no subnets: the region's first three zones, noted
	want(t, "zones", strings.Join(r.Stack.Zones, ","), "us-east-1a,us-east-1b,us-east-1c")
}

func TestBadInputIsReportedWhereItIs(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		vars  []string
		want  string // a regexp the error must match
	}{
		{"syntax error", map[string]string{"main.tf": tier + "\nresource \"aws_vpc\" \"x\" {\n  cidr_block = \n"},
			nil, `main\.tf:\d+:\d+: .*(Missing|Invalid|Unclosed|expression)`},
		{"undeclared resource", map[string]string{"main.tf": strings.Replace(tier, "aws_lb.this.arn", "aws_lb.thsi.arn", 1)},
			nil, `main\.tf:12:23: reference to undeclared resource aws_lb\.thsi \(did you mean aws_lb\.this\?\)`},
		{"undeclared variable", map[string]string{"main.tf": strings.Replace(tier, "min_size          = 1", "min_size = var.min", 1)},
			nil, `main\.tf:\d+:\d+: reference to undeclared input variable var\.min`},
		{"cycle of locals", map[string]string{"main.tf": tier + "locals {\n  a = local.b\n  b = local.a\n}\n"},
			nil, `cycle: local\.(a|b) \(.*main\.tf:\d+:\d+\) → local\.(a|b) .* → local\.(a|b)`},
		{"cycle of resources", map[string]string{"main.tf": tier + `
resource "aws_security_group" "a" { description = aws_security_group.b.id }
resource "aws_security_group" "b" { description = aws_security_group.a.id }
`}, nil, `cycle: aws_security_group\.(a|b) .* → aws_security_group\.(a|b)`},
		{"no load balancer", map[string]string{"main.tf": `resource "aws_autoscaling_group" "g" {
  min_size = 1
  max_size = 1
}`}, nil, `no load balancer: the configuration declares no aws_lb`},
		{"no group", map[string]string{"main.tf": `resource "aws_lb" "x" {}`}, nil,
			`no load balancer|no Auto Scaling group: the configuration declares no aws_autoscaling_group`},
		{"-var of a variable not declared", map[string]string{"main.tf": tier}, []string{"nope=1"},
			`no variable "nope" is declared`},
		{"missing local module", map[string]string{"main.tf": tier + "module \"net\" {\n  source = \"./modules/net\"\n}\n"},
			nil, `modules/net.*no such file`},
		{"a module input it does not declare", map[string]string{"main.tf": tier + "module \"net\" {\n  source = \"./net\"\n  zones = 3\n}\n", "net/main.tf": "output \"x\" { value = 1 }\n"},
			nil, `main\.tf:\d+:\d+: module\.net: the module at .* has no variable "zones"`},
		{"count of a string", map[string]string{"main.tf": tier + "resource \"aws_subnet\" \"s\" {\n  count = \"many\"\n}\n"},
			nil, `main\.tf:\d+:\d+: aws_subnet\.s: count is string`},
		{"a function called wrongly", map[string]string{"main.tf": tier + "locals {\n  x = cidrsubnet(\"10.0.0.0/16\", 8, 300)\n}\n"},
			nil, `main\.tf:\d+:\d+: local\.x: .*cidrsubnet.*accommodate`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Terraform(dirWith(t, c.files), Options{Vars: c.vars})
			if err == nil {
				t.Fatal("imported; want an error")
			}
			if !regexp.MustCompile(c.want).MatchString(err.Error()) {
				t.Fatalf("error:\n%v\nwant it to match %s", err, c.want)
			}
		})
	}
}

func TestNoGroupSaysWhatIsMissing(t *testing.T) {
	_, err := Terraform(dirWith(t, map[string]string{"main.tf": `resource "aws_lb" "x" {}`}), Options{})
	if err == nil || !strings.Contains(err.Error(), "no Auto Scaling group") {
		t.Fatalf("error %v; want it to say there is no Auto Scaling group", err)
	}
}

func TestBadTemplateIsReportedWhereItIs(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"yaml syntax", "Resources:\n  A: [\n", `template\.yaml:\d+: template syntax`},
		{"not a template", "name: shop\n", `no Resources`},
		{"undeclared ref", "Resources:\n  Lb:\n    Type: AWS::ElasticLoadBalancingV2::LoadBalancer\n    Properties:\n      Subnets: [!Ref Nope]\n",
			`template\.yaml:5:\d+: Ref: reference to undeclared parameter or resource Nope`},
		{"no group", "Resources:\n  Lb:\n    Type: AWS::ElasticLoadBalancingV2::LoadBalancer\n", `no Auto Scaling group`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := CloudFormation(path, Options{})
			if err == nil || !regexp.MustCompile(c.want).MatchString(err.Error()) {
				t.Fatalf("error:\n%v\nwant it to match %s", err, c.want)
			}
		})
	}
}

func TestAModuleCallingItselfStops(t *testing.T) {
	dir := dirWith(t, map[string]string{"main.tf": tier + "module \"again\" {\n  source = \"./\"\n  count  = 100\n}\n"})
	_, err := Terraform(dir, Options{})
	if err == nil || !regexp.MustCompile(`modules nest more than 10 deep|more than \d+ resource and module instances`).MatchString(err.Error()) {
		t.Fatalf("error %v; want the nesting or the instance bound", err)
	}
}

func TestNullsAndOddValuesAreNotes(t *testing.T) {
	r, err := Terraform(dirWith(t, map[string]string{"main.tf": strings.Replace(tier,
		"target_group_arns = [aws_lb_target_group.this.arn]",
		"target_group_arns = [aws_lb_target_group.this.arn, null]\n  vpc_zone_identifier = [null, \"subnet-123\"]\n  termination_policies = null", 1)}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "termination policies", strings.Join(r.Stack.AutoScalingGroup.TerminationPolicies, ","), "Default")
}

func TestZonesFromARemoteVPCModule(t *testing.T) {
	main := strings.Replace(tier, "min_size          = 1", "min_size = 1\n  vpc_zone_identifier = module.vpc.private_subnets", 1) + `
module "vpc" {
  source          = "terraform-aws-modules/vpc/aws"
  version         = "5.8.1"
  azs             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = ["10.0.1.0/24", "10.0.2.0/24"]
}
`
	r, err := Terraform(dirWith(t, map[string]string{"main.tf": main}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "zones", strings.Join(r.Stack.Zones, ","), "eu-west-1a,eu-west-1b")
	found := false
	for _, n := range r.Notes {
		found = found || (n.Kind == Inexact && strings.Contains(n.Msg, "taken from module.vpc's azs"))
	}
	if !found {
		t.Errorf("no note says the zones come from module.vpc's azs: %v", r.Notes)
	}
}

func TestTrafficSourcesRegisterTheGroup(t *testing.T) {
	for name, extra := range map[string]string{
		"block": `traffic_source {
    identifier = aws_lb_target_group.this.arn
    type       = "elbv2"
  }`,
		"attachment": "",
	} {
		t.Run(name, func(t *testing.T) {
			main := strings.Replace(tier, "target_group_arns = [aws_lb_target_group.this.arn]", extra, 1)
			// no listener: only the traffic source ties the group to the target group
			main = strings.Replace(main, `target_group_arn = aws_lb_target_group.this.arn`, `target_group_arn = "arn:elsewhere"`, 1)
			if name == "attachment" {
				main += `
resource "aws_autoscaling_traffic_source_attachment" "this" {
  autoscaling_group_name = aws_autoscaling_group.this.name
  traffic_source {
    identifier = aws_lb_target_group.this.arn
    type       = "elbv2"
  }
}
`
			}
			r, err := Terraform(dirWith(t, map[string]string{"main.tf": main}), Options{})
			if err != nil {
				t.Fatal(err)
			}
			want(t, "target group port", r.Stack.TargetGroup.Port, 8080)
			for _, n := range r.Notes {
				if strings.Contains(n.Subject, "traffic_source") || strings.Contains(n.Msg, "registers with no target group") {
					t.Errorf("the traffic source is not taken: %s", n)
				}
			}
		})
	}
}
