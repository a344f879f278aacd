package tui

import (
	"fmt"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// explain says why an event happened, as lines of plain text: for alarms
// the evaluation's numbers and rule, for scaling the activity's cause, for
// target health the reason code.
func explain(e Entry) []string {
	if e.Event == nil && len(e.Why) > 0 {
		return e.Why // from the live socket
	}
	out := []string{e.Text, ""}
	switch ev := e.Event.(type) {
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
	case asg.LifecycleChanged:
		out = append(out, fmt.Sprintf("Instance %s in %s moved from %s to %s.", ev.Instance, ev.Zone, orDash(ev.From), ev.To))
	case alb.TargetHealthChanged:
		out = append(out, fmt.Sprintf("The load-balancer node in %s now sees target %s (%s, %s) as %s.", ev.Node, ev.Target, ev.Addr, ev.Zone, ev.To))
		if ev.Reason != alb.ReasonNone {
			out = append(out, fmt.Sprintf("Reason code: %s", ev.Reason), "Description: "+ev.Description)
		}
		out = append(out, "Each node health-checks every target on its own; a node routes only to targets it sees healthy.")
	case chaos.FaultInjected:
		from := "from the scenario's chaos timeline"
		if e.Manual {
			from = "by hand (k or z in the live view)"
		}
		out = append(out, fmt.Sprintf("Fault #%d %s: %s on %s in %s.", ev.N, from, ev.Action, ev.Instance, ev.Zone),
			"It is journalled in chaos.jsonl before it acts, and reverted at the end or on q / Ctrl-C.")
	case chaos.FaultReverted:
		out = append(out, fmt.Sprintf("Fault #%d (%s on %s) reverted: %s", ev.N, ev.Action, ev.Instance, ev.Note))
	case lab.PhaseChanged:
		out = append(out, "The load generator moved to phase "+ev.Phase+".", ev.Note)
	case nil:
		out = append(out, "A note from the lab.")
	default:
		out = append(out, fmt.Sprintf("%T", ev))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
