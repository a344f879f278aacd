package tfimport

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/stack"
)

// corpus is the tier of the seeds written the ways people write it; each
// case says what it must import to and which notes it must carry.
var corpus = []struct {
	name  string
	path  string
	vars  []string
	check func(t *testing.T, s *stack.Stack)
	notes []string // substrings of notes that must be there (kind and subject)
}{
	{
		name: "one flat file", path: "flat",
		check: func(t *testing.T, s *stack.Stack) {
			want(t, "name", s.Name, "shop")
			want(t, "zones", strings.Join(s.Zones, ","), "us-east-1a,us-east-1b,us-east-1c")
			want(t, "sizes", [3]int{s.AutoScalingGroup.MinSize, s.AutoScalingGroup.MaxSize, s.AutoScalingGroup.DesiredCapacity}, [3]int{1, 6, 2})
			want(t, "policies", len(s.ScalingPolicies), 2)
			want(t, "cpu-high alarm", s.ScalingPolicies[0].Alarm.Threshold, 80.0)
			want(t, "schedules", len(s.ScheduledActions), 2)
			want(t, "first schedule", s.ScheduledActions[0].At, time.Minute)
			want(t, "command", strings.Join(s.LaunchTemplate.Command, " "), "simplydone")
			want(t, "environment", s.LaunchTemplate.Environment["SIMPLYDONE_CPU_COST"], "2ms")
			want(t, "monitoring", s.LaunchTemplate.Monitoring, stack.MonitoringDetailed)
		},
		notes: []string{"not rehearsed: aws_wafv2_web_acl_association.shop", "not rehearsed: aws_cloudwatch_metric_alarm.errors: runs no scaling policy",
			"offline: data.aws_ami.al2023", "not rehearsed: aws_lb.shop: access_logs", "not rehearsed: aws_autoscaling_group.shop: instance_refresh"},
	},
	{
		name: "variables and local modules", path: "modules", vars: []string{"listener_port=8080"},
		check: func(t *testing.T, s *stack.Stack) {
			want(t, "name", s.Name, "shop-prod")
			want(t, "zones", strings.Join(s.Zones, ","), "us-east-1a,us-east-1b,us-east-1c")
			want(t, "listener port (-var)", s.LoadBalancer.ListenerPort, 8080)
			want(t, "sizes (tfvars picks prod)", [3]int{s.AutoScalingGroup.MinSize, s.AutoScalingGroup.MaxSize, s.AutoScalingGroup.DesiredCapacity}, [3]int{1, 6, 2})
			want(t, "image from the template file", s.LaunchTemplate.Image, "simplydone:latest")
			want(t, "step from the dynamic block", *s.ScalingPolicies[0].StepAdjustments[0].LowerBound, 0.0)
			want(t, "alarms from for_each", s.ScalingPolicies[1].Alarm.EvaluationPeriods, 2)
			want(t, "schedules from count", len(s.ScheduledActions), 2)
			if s.ScheduledActions[1].DesiredCapacity != nil {
				t.Errorf("after-the-peak sets desired_capacity %d; -1 means unchanged", *s.ScheduledActions[1].DesiredCapacity)
			}
		},
		notes: []string{"not rehearsed: module.web.aws_lb.this: tags"},
	},
	{
		name: "count-based subnets across three zones", path: "count",
		check: func(t *testing.T, s *stack.Stack) {
			want(t, "zones", strings.Join(s.Zones, ","), "us-east-1a,us-east-1b,us-east-1c")
			want(t, "algorithm", s.TargetGroup.Algorithm, "least_outstanding_requests")
			want(t, "provider's healthy threshold", s.TargetGroup.HealthCheck.HealthyThreshold, 3)
			want(t, "instance type (conditional)", s.LaunchTemplate.InstanceType, "c5.large")
			want(t, "min (conditional)", s.AutoScalingGroup.MinSize, 3)
			want(t, "target tracking", s.ScalingPolicies[0].TargetTracking.TargetValue, 50.0)
			want(t, "warm pool", s.AutoScalingGroup.WarmPool != nil && s.AutoScalingGroup.WarmPool.ReuseOnScaleIn, true)
			want(t, "hook resource", s.AutoScalingGroup.LifecycleHooks[0].LifecycleTransition, stack.TerminatingTransition)
			want(t, "maintenance policy", s.AutoScalingGroup.InstanceMaintenancePolicy.MaxHealthyPercentage, 120)
			want(t, "stickiness (issue 16)", s.TargetGroup.Stickiness, stack.Stickiness{Enabled: true, Type: "lb_cookie", CookieDuration: time.Hour})
			want(t, "the admin rule forwards to another target group: left out", len(s.LoadBalancer.Rules), 0)
			if want(t, "database (issue 15)", s.Database != nil, true) {
				d := s.Database
				want(t, "database identifier", d.Identifier, "shop-prod-orders")
				want(t, "database class", d.InstanceClass, "db.t4g.micro")
				want(t, "multi_az (conditional)", d.MultiAZ, true)
				want(t, "storage", d.AllocatedStorage, 20)
				want(t, "DB subnet group zones", strings.Join(d.SubnetGroupZones, ","), "us-east-1a,us-east-1b,us-east-1c")
				want(t, "replica of orders", len(d.ReadReplicas), 1)
				if len(d.ReadReplicas) == 1 {
					want(t, "replica zone", d.ReadReplicas[0].AvailabilityZone, "us-east-1c")
					want(t, "replica identifier (the resource's name)", d.ReadReplicas[0].Identifier, "orders-read")
				}
			}
		},
		notes: []string{"not rehearsed: aws_lb_listener_rule.admin", "not rehearsed: aws_db_instance.orders: password",
			"not rehearsed: aws_db_instance.analytics: the lab's data tier runs PostgreSQL",
			"offline: module.labels", "inexact: aws_launch_template.app: user_data", "not rehearsed: aws_alb_target_group.admin"},
	},
	{
		name: "CloudFormation, short form", path: "cloudformation/shop.yaml",
		check: func(t *testing.T, s *stack.Stack) {
			want(t, "name (Sub)", s.Name, "shop-prod")
			want(t, "zones (GetAZs)", strings.Join(s.Zones, ","), "us-east-1a,us-east-1b,us-east-1c")
			want(t, "sizes (FindInMap)", [3]int{s.AutoScalingGroup.MinSize, s.AutoScalingGroup.MaxSize, s.AutoScalingGroup.DesiredCapacity}, [3]int{1, 6, 2})
			want(t, "AWS's healthy threshold", s.TargetGroup.HealthCheck.HealthyThreshold, 5)
			want(t, "policies", len(s.ScalingPolicies), 2)
			want(t, "schedules", len(s.ScheduledActions), 2)
			want(t, "drop_invalid_header_fields (LoadBalancerAttributes)", s.LoadBalancer.DropInvalidHeaderFields, true)
			want(t, "AWS's desync mitigation mode", s.LoadBalancer.DesyncMitigationMode, "defensive")
			if want(t, "database (AWS::RDS::DBInstance)", s.Database != nil, true) {
				want(t, "database class", s.Database.InstanceClass, "db.t4g.micro")
				want(t, "storage (a string in the template)", s.Database.AllocatedStorage, 20)
				want(t, "Single-AZ (AWS's default)", s.Database.MultiAZ, false)
			}
		},
		notes: []string{"not rehearsed: Group: UpdatePolicy"},
	},
}

func want(t *testing.T, what string, got, want any) bool {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
		return false
	}
	return true
}

func importPath(path string, o Options) (*Result, error) {
	if strings.HasSuffix(path, ".yaml") {
		return CloudFormation(path, o)
	}
	return Terraform(path, o)
}

func TestCorpusImports(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			r, err := importPath(filepath.Join("testdata", "corpus", c.path), Options{Vars: c.vars})
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r.Stack)
			var all []string
			for _, n := range r.Notes {
				all = append(all, n.String())
				if n.Pos.Line == 0 && !strings.Contains(n.Msg, "variable") && !strings.Contains(n.Pos.File, "-var") {
					t.Errorf("a note without its line: %s", n)
				}
			}
			text := strings.Join(all, "\n")
			for _, w := range c.notes {
				if !strings.Contains(text, w) {
					t.Errorf("no note %q among:\n%s", w, text)
				}
			}
			// every field written carries where it came from
			for _, line := range strings.Split(string(r.YAML), "\n") {
				if strings.Contains(line, ": ") && !strings.HasPrefix(strings.TrimSpace(line), "#") && !strings.Contains(line, " # ") {
					t.Errorf("a field without its provenance: %q", line)
				}
			}
		})
	}
}
