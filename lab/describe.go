package lab

import (
	"fmt"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// What a view of a run needs to know of the AWS parts' events and rules,
// without importing the parts: the views (tui) sit above lab and see the
// parts only through it.

// ScaleChange is a change of the group's desired capacity.
type ScaleChange struct {
	From, To int
	Policy   string // the scaling policy that made it; "" by hand or by the scenario
}

// ScaleChangeOf says whether e changes the group's desired capacity
// (asg.DesiredCapacityChanged), and how.
func ScaleChangeOf(e events.Event) (ScaleChange, bool) {
	d, ok := e.(asg.DesiredCapacityChanged)
	return ScaleChange{From: d.From, To: d.To, Policy: d.Policy}, ok
}

// Explain says why an event of the AWS parts happened, as lines of plain
// text: for an alarm the evaluation's numbers and rule, for scaling the
// activity's cause, for target health the reason code. It is false for an
// event that is not one of theirs.
func Explain(e events.Event) ([]string, bool) {
	var out []string
	switch ev := e.(type) {
	case cloudwatch.AlarmStateChanged:
		r := ev.Reason
		out = append(out, fmt.Sprintf("Alarm %s: %s -> %s at %s (%s of %s/%s)", ev.Alarm, ev.From, ev.To,
			cloudwatch.FormatTime(ev.Time), ev.Statistic, ev.Namespace, ev.MetricName))
		switch r.Kind {
		case cloudwatch.ReasonThresholdCrossed:
			if r.Transition != "" {
				out = append(out, fmt.Sprintf("Rule: %s needs at least %d of the last %d datapoints %s the threshold %s",
					r.Transition, r.Minimum, r.Evaluated, r.Comparison, cloudwatch.FormatNumber(r.Threshold)))
			}
			out = append(out, fmt.Sprintf("Evaluated %d datapoint(s), %d received; %d cited as %s the threshold:",
				r.Evaluated, r.Received, len(r.Datapoints), r.Comparison))
			for _, p := range r.Datapoints {
				out = append(out, fmt.Sprintf("  %s at %s", cloudwatch.FormatNumber(p.Value), cloudwatch.FormatTime(p.Time)))
			}
			if r.Missing > 0 {
				out = append(out, fmt.Sprintf("Missing datapoints: %d, treated as %s", r.Missing, orDash(r.TreatedAs)))
			}
		default:
			out = append(out, fmt.Sprintf("%s: %d datapoint(s) unknown", r.Kind, r.Missing))
		}
	case asg.DesiredCapacityChanged:
		if ev.Policy == "" {
			out = append(out, fmt.Sprintf("Desired capacity set by hand or by the scenario: %d -> %d", ev.From, ev.To))
			break
		}
		out = append(out, fmt.Sprintf("Policy %s ran because alarm %s was in ALARM with the metric at %.1f.", ev.Policy, ev.Alarm, ev.Value),
			fmt.Sprintf("Desired capacity %d -> %d; the group launches or terminates to match.", ev.From, ev.To))
	case asg.ScalingActivity:
		out = append(out, "Activity: "+ev.Action+" "+ev.Instance+" in "+ev.Zone, "Description: "+ev.Description, "Cause: "+ev.Cause)
		if ev.Status != "" {
			out = append(out, "Status: "+ev.Status, "Status message: "+ev.StatusMessage)
		}
	case asg.LifecycleChanged:
		out = append(out, fmt.Sprintf("Instance %s in %s moved from %s to %s.", ev.Instance, ev.Zone, orDash(ev.From), ev.To))
	case asg.InstanceRunning:
		out = append(out, fmt.Sprintf("EC2 has instance %s in %s running after %.0f s pending (launch_template.pending_time).", ev.Instance, ev.Zone, ev.Pending),
			"It boots from now (launch_template.boot_time); the group registers it and puts it InService once its launch hooks are done.")
	case alb.TargetHealthChanged:
		out = append(out, fmt.Sprintf("The load-balancer node in %s now sees target %s (%s, %s) as %s.", ev.Node, ev.Target, ev.Addr, ev.Zone, ev.To))
		if ev.Reason != alb.ReasonNone {
			out = append(out, fmt.Sprintf("Reason code: %s", ev.Reason), "Description: "+ev.Description)
		}
		out = append(out, "Each node health-checks every target on its own; a node routes only to targets it sees healthy.")
	default:
		return nil, false
	}
	return out, true
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// PolicyStep is one step of a step scaling policy: its bounds relative to
// the alarm's threshold (nil unbounded) and its adjustment.
type PolicyStep struct {
	Lower, Upper *float64
	Adjustment   int
}

// StepFor is the adjustment of the step that covers value, as the group
// picks it (above the threshold the lower bound is inclusive, below it the
// upper), and whether one does.
func StepFor(steps []PolicyStep, threshold, value float64) (int, bool) {
	ss := make([]asg.Step, len(steps))
	for i, s := range steps {
		ss[i] = asg.Step(s)
	}
	return asg.StepFor(ss, threshold, value)
}

// NewCapacity is current adjusted as the group adjusts it, with AWS's
// rounding of percentages and MinAdjustmentMagnitude; not clamped to min
// and max.
func NewCapacity(adjustmentType string, current, adjustment, minMagnitude int) int {
	return asg.NewCapacity(adjustmentType, current, adjustment, minMagnitude)
}
