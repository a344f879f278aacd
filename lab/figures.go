package lab

import (
	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// assumptions lists every figure a run on s relies on that AWS does not
// document, from the parts that hold them: CloudWatch's timing (the
// stack's), the target tracking alarms' shape (when a policy tracks a
// target) and Automatic Target Weights' thresholds (the load balancer's
// anomaly detection is always on).
func assumptions(s *stack.Stack) []figures.Figure { return assumptionsAt(s, 1) }

// assumptionsAt is assumptions for a run at speed (the data tier's monitor
// has wall-time floors, so its figures in AWS time depend on it).
func assumptionsAt(s *stack.Stack, speed float64) []figures.Figure {
	out := append(s.CloudWatch.Figures(), s.LaunchTemplate.PendingFigure())
	for _, p := range s.ScalingPolicies {
		if p.PolicyType == stack.TargetTrackingScaling {
			out = append(out, asg.TrackingFigures()...)
			break
		}
	}
	if s.AutoScalingGroup.WarmPool != nil {
		out = append(out, asg.WarmPoolFigures(s.LaunchTemplate.Restart(), s.LaunchTemplate.RestartTime != nil)...)
	}
	if s.Database != nil {
		out = append(out, rds.FiguresAt(speed)...) // the data tier's endpoints and failover detection
	}
	out = append(out, alb.NodeFigures()...) // the nodes' client connection cap
	out = append(out, alb.ATWFigures()...)
	return append(out, hostFigures()...) // the verdict's starvation rule
}
