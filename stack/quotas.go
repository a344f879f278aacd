package stack

import "github.com/simplydone/lab/internal/yamlcheck"

// AWS's fixed quotas on an Auto Scaling group's configuration (they cannot
// be raised): https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-quotas.html
const (
	MaxScalingPolicies  = 50  // scaling policies per Auto Scaling group
	MaxStepAdjustments  = 20  // step adjustments per step scaling policy
	MaxLifecycleHooks   = 50  // lifecycle hooks per Auto Scaling group
	MaxScheduledActions = 125 // scheduled actions per Auto Scaling group
)

// validateQuotas checks the lists AWS bounds.
func (p *parser) validateQuotas(s *Stack) {
	quota := func(field string, n, most int, what string) {
		if n > most {
			p.Errf(field, "%d given; AWS allows at most %d %s", n, most, what)
		}
	}
	quota("scaling_policies", len(s.ScalingPolicies), MaxScalingPolicies, "scaling policies per Auto Scaling group")
	for i, sp := range s.ScalingPolicies {
		quota(yamlcheck.Index("scaling_policies", i)+".step_adjustments", len(sp.StepAdjustments), MaxStepAdjustments, "step adjustments per step scaling policy")
	}
	quota("auto_scaling_group.lifecycle_hooks", len(s.AutoScalingGroup.LifecycleHooks), MaxLifecycleHooks, "lifecycle hooks per Auto Scaling group")
	quota("scheduled_actions", len(s.ScheduledActions), MaxScheduledActions, "scheduled actions per Auto Scaling group")
}
