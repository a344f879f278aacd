package tfimport

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/stack"
)

// twoServices is a hand-written configuration of two services: web (the
// default) and api (a path rule, forwarded by weight with group
// stickiness), each an Auto Scaling group registering with its own target
// group; a third target group no group registers with is only a rule's.
const twoServices = `
resource "aws_lb" "this" {
  name = "shop"
}

resource "aws_lb_target_group" "web" {
  name     = "web"
  port     = 8080
  protocol = "HTTP"
}

resource "aws_lb_target_group" "api_tg" {
  port     = 9090
  protocol = "HTTP"
  health_check {
    path = "/health"
  }
}

resource "aws_lb_target_group" "orphan" {
  port = 7070
}

resource "aws_lb_listener" "this" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.this.arn
  priority     = 20
  condition {
    path_pattern {
      values = ["/api/*"]
    }
  }
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.api_tg.arn
        weight = 90
      }
      target_group {
        arn    = aws_lb_target_group.web.arn
        weight = 10
      }
    }
  }
}

resource "aws_lb_listener_rule" "orphan" {
  listener_arn = aws_lb_listener.this.arn
  priority     = 5
  condition {
    path_pattern {
      values = ["/old/*"]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.orphan.arn
  }
}

resource "aws_autoscaling_group" "web" {
  min_size          = 1
  max_size          = 3
  target_group_arns = [aws_lb_target_group.web.arn]
}

resource "aws_autoscaling_group" "api" {
  min_size          = 2
  max_size          = 4
  target_group_arns = [aws_lb_target_group.api_tg.arn]
}

resource "aws_autoscaling_policy" "api_up" {
  name                   = "api-up"
  autoscaling_group_name = aws_autoscaling_group.api.name
  adjustment_type        = "ChangeInCapacity"
  scaling_adjustment     = 1
}

resource "aws_cloudwatch_metric_alarm" "api_cpu" {
  alarm_name          = "api-cpu"
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  statistic           = "Average"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 70
  period              = 60
  evaluation_periods  = 1
  alarm_actions       = [aws_autoscaling_policy.api_up.arn]
  dimensions = {
    AutoScalingGroupName = aws_autoscaling_group.api.name
  }
}
`

func TestSeveralTargetGroupsImportAsServices(t *testing.T) {
	r, err := Terraform(dirWith(t, map[string]string{"main.tf": twoServices}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stack
	if len(s.Services) != 2 {
		t.Fatalf("%d services, want web and api:\n%s", len(s.Services), r.YAML)
	}
	// web by its target group's name; the api's target group has none: its resource name
	want(t, "services[0].name", s.Services[0].Name, "web")
	want(t, "services[1].name", s.Services[1].Name, "api-tg")
	want(t, "web's port", s.Services[0].TargetGroup.Port, 8080)
	want(t, "api's port", s.Services[1].TargetGroup.Port, 9090)
	want(t, "api's health check", s.Services[1].TargetGroup.HealthCheck.Path, "/health")
	want(t, "api's min size", s.Services[1].AutoScalingGroup.MinSize, 2)
	if len(s.Services[0].ScalingPolicies) != 0 || len(s.Services[1].ScalingPolicies) != 1 {
		t.Errorf("policies: web %d, api %d; want 0 and 1 (the policy is the api group's)", len(s.Services[0].ScalingPolicies), len(s.Services[1].ScalingPolicies))
	}
	if d := s.DefaultAction(); d.Type != stack.ActionForward || d.TargetGroups[0].Name != "web" {
		t.Errorf("default action %+v, want a forward to web", d)
	}
	// the orphan's rule is left out, noted; the api rule forwards by weight to both services
	if len(s.LoadBalancer.Rules) != 1 {
		t.Fatalf("%d rules, want the api rule only", len(s.LoadBalancer.Rules))
	}
	got := s.LoadBalancer.Rules[0].Action.TargetGroups
	if len(got) != 2 || got[0] != (stack.WeightedTargetGroup{Name: "api-tg", Weight: 90}) || got[1] != (stack.WeightedTargetGroup{Name: "web", Weight: 10}) {
		t.Errorf("the api rule forwards to %+v, want api-tg 90, web 10", got)
	}
	var orphanNoted bool
	for _, n := range r.Notes {
		if strings.Contains(n.Subject, "aws_lb_listener_rule.orphan") && strings.Contains(n.Msg, "no Auto Scaling group") {
			orphanNoted = true
		}
		if strings.Contains(n.Msg, "issue 16") {
			t.Errorf("a note still waits for issue 16: %s", n)
		}
	}
	if !orphanNoted {
		t.Errorf("the rule forwarding to a target group of no group is not noted as left out: %v", r.Notes)
	}
	if !strings.Contains(string(r.YAML), "services:") || strings.Contains(string(r.YAML), "\ntarget_group:") {
		t.Errorf("the written stack does not give each service its own sections:\n%s", r.YAML)
	}
}

// A default action's weighted forward to a target group no Auto Scaling
// group registers with keeps the services' groups and notes the one left
// out, instead of naming no service.
func TestDefaultForwardToAnOrphanIsNoted(t *testing.T) {
	cfg := strings.Replace(twoServices, `  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn`, `  default_action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.web.arn
        weight = 80
      }
      target_group {
        arn    = aws_lb_target_group.orphan.arn
        weight = 20
      }
    }`, 1)
	if cfg == twoServices {
		t.Fatal("the fixture's default action changed; update the test")
	}
	r, err := Terraform(dirWith(t, map[string]string{"main.tf": cfg}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Stack.DefaultAction(); len(d.TargetGroups) != 1 || d.TargetGroups[0] != (stack.WeightedTargetGroup{Name: "web", Weight: 80}) {
		t.Errorf("default action forwards to %+v; want web 80 only", d.TargetGroups)
	}
	noted := false
	for _, n := range r.Notes {
		noted = noted || strings.Contains(n.Msg, "aws_lb_target_group.orphan") && strings.Contains(n.Msg, "left out of the forward")
	}
	if !noted {
		t.Errorf("the orphan target group is not noted: %v", r.Notes)
	}
}

// Each service's scheduled actions are timed from one time zero, the hour
// of the earliest start_time of any service's.
func TestServicesShareOneScheduleZero(t *testing.T) {
	cfg := twoServices + `
resource "aws_autoscaling_schedule" "web_peak" {
  scheduled_action_name  = "web-peak"
  autoscaling_group_name = aws_autoscaling_group.web.name
  start_time             = "2026-11-27T08:10:00Z"
  min_size               = 2
}

resource "aws_autoscaling_schedule" "api_peak" {
  scheduled_action_name  = "api-peak"
  autoscaling_group_name = aws_autoscaling_group.api.name
  start_time             = "2026-11-27T09:30:00Z"
  min_size               = 3
}
`
	r, err := Terraform(dirWith(t, map[string]string{"main.tf": cfg}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	web, api := r.Stack.Services[0].ScheduledActions, r.Stack.Services[1].ScheduledActions
	if len(web) != 1 || len(api) != 1 {
		t.Fatalf("scheduled actions: web %v, api %v; want one each", web, api)
	}
	// time zero 08:00 for both: the api's 09:30 is 90 minutes in, not 30
	want(t, "web's at", web[0].At, 10*time.Minute)
	want(t, "api's at", api[0].At, 90*time.Minute)
}
