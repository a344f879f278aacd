package export

import (
	"fmt"
	"time"

	"github.com/simplydone/lab/stack"
)

// tfGroupExtras writes the group's instance maintenance policy and
// lifecycle hooks inside aws_autoscaling_group.
func tfGroupExtras(w *tf, s *stack.Stack) {
	g := s.AutoScalingGroup
	if mp := g.InstanceMaintenancePolicy; mp != nil {
		w.comment("auto_scaling_group.instance_maintenance_policy")
		w.open("instance_maintenance_policy")
		w.attr("min_healthy_percentage", itoa(mp.MinHealthyPercentage))
		w.attr("max_healthy_percentage", itoa(mp.MaxHealthyPercentage))
		w.close()
	}
	for i, h := range g.LifecycleHooks {
		w.comment(fmt.Sprintf("auto_scaling_group.lifecycle_hooks[%d]: nothing completes the action here, so each instance waits the heartbeat timeout, as in the lab.", i))
		w.open("initial_lifecycle_hook")
		w.attr("name", q(h.Name))
		w.attr("lifecycle_transition", q(h.LifecycleTransition))
		w.attr("heartbeat_timeout", itoa(secs(h.HeartbeatTimeout)))
		w.attr("default_result", q(h.DefaultResult))
		w.close()
	}
	tfWarmPool(w, s)
}

// tfSchedules writes one aws_autoscaling_schedule per scheduled action,
// starting at its offset from var.schedule_start.
func tfSchedules(w *tf, sv tfSvc) {
	s := sv.st
	for i, a := range s.ScheduledActions {
		w.comment(fmt.Sprintf("%sscheduled_actions[%d] %s", sv.prefix, i, a.Name))
		id := idents([]string{a.Name}, false)[0]
		if sv.multi {
			id = sv.id + "_" + id
		}
		w.resource("resource", "aws_autoscaling_schedule", id)
		w.attr("scheduled_action_name", q(a.Name))
		w.attr("autoscaling_group_name", "aws_autoscaling_group."+sv.id+".name")
		w.attr("start_time", fmt.Sprintf("timeadd(var.schedule_start, %q)", fmt.Sprintf("%ds", secs(a.At))), "scheduled_actions.at")
		if a.Recurrence > 0 {
			cron, _ := cronFor(a.Recurrence)
			w.attr("recurrence", q(cron), fmt.Sprintf("every %s (scheduled_actions.recurrence)", a.Recurrence))
		}
		for _, f := range []struct {
			name string
			v    *int
		}{{"min_size", a.MinSize}, {"max_size", a.MaxSize}, {"desired_capacity", a.DesiredCapacity}} {
			if f.v != nil {
				w.attr(f.name, itoa(*f.v))
			}
		}
		w.end()
	}
}

// cronFor turns a recurrence period into AWS's five-field cron, when the
// period divides an hour or a day.
func cronFor(d time.Duration) (string, bool) {
	switch {
	case d <= 0:
		return "", false
	case d%time.Minute == 0 && d < time.Hour && time.Hour%d == 0:
		return fmt.Sprintf("*/%d * * * *", d/time.Minute), true
	case d == time.Hour:
		return "0 * * * *", true
	case d%time.Hour == 0 && d < 24*time.Hour && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 */%d * * *", d/time.Hour), true
	case d == 24*time.Hour:
		return "0 0 * * *", true
	}
	return "", false
}

// checkGroupExtras reports what of the group's maintenance policy, hooks
// and scheduled actions a format cannot hold.
func checkGroupExtras(s *stack.Stack, f Format, errf func(field, format string, args ...any)) {
	for i, a := range s.ScheduledActions {
		if _, ok := cronFor(a.Recurrence); a.Recurrence != 0 && !ok {
			errf(fmt.Sprintf("scheduled_actions[%d].recurrence", i), "%s has no cron equivalent; use a period that divides an hour or a day (10m, 1h, 6h, 24h)", a.Recurrence)
		}
	}
	for i, p := range s.ScalingPolicies {
		if t := p.TargetTracking; t != nil && t.Period > 0 && t.Period < time.Minute {
			errf(fmt.Sprintf("scaling_policies[%d].target_tracking.period", i), "%s: AWS's predefined metrics (%s) come once a minute; high-resolution target tracking needs a custom metric published every %s. Export with 60s, or write the custom metric policy by hand",
				t.Period, t.PredefinedMetricType, t.Period)
		}
	}
	if f != FormatCloudFormation {
		return
	}
	// The CloudFormation resource spec this exporter validates against
	// (cfnspec 2.72.1) predates both.
	if s.AutoScalingGroup.InstanceMaintenancePolicy != nil {
		errf("auto_scaling_group.instance_maintenance_policy", "cannot be written to CloudFormation (the resource spec has no InstanceMaintenancePolicy); remove it or export terraform")
	}
	if len(s.ScheduledActions) > 0 {
		errf("scheduled_actions", "cannot be written to CloudFormation (the resource spec has no AWS::AutoScaling::ScheduledAction); remove them or export terraform")
	}
}

// cfnHooks is the group's LifecycleHookSpecificationList.
func cfnHooks(s *stack.Stack) []any {
	var out []any
	for _, h := range s.AutoScalingGroup.LifecycleHooks {
		out = append(out, obj{
			{key: "LifecycleHookName", val: h.Name},
			{key: "LifecycleTransition", val: h.LifecycleTransition},
			{key: "HeartbeatTimeout", val: secs(h.HeartbeatTimeout)},
			{key: "DefaultResult", val: h.DefaultResult}})
	}
	return out
}
