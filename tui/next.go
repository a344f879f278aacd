package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/simplydone/lab/lab"
)

// Next is what an alarm's policy will do, as nextAction reads it from a
// snapshot: Text in full, Short for the narrow layout.
type Next struct {
	Text, Short string
}

// nextAction says what the policy behind alarm a will do next, given the
// group g, by the rules the simulated group follows (sim/asg ExecutePolicy):
// a policy runs at every evaluation its alarm is in ALARM; step scaling
// scales out from the capacity without the instances still warming up and
// holds a scale-in until they are warm; simple scaling waits for its
// cooldown; the result is kept within min and max.
func nextAction(a Alarm, g Group) Next {
	p := a.Policy
	if p == nil {
		return Next{"no scaling policy acts on it", "-"}
	}
	if a.State != "ALARM" {
		return Next{"nothing", "nothing"}
	}
	from := g.Desired
	capacity := g.InService + g.Pending
	who := "policy " + p.Name
	switch p.Type {
	case "TargetTrackingScaling":
		switch {
		case p.High:
			return Next{fmt.Sprintf("target tracking %s scales out toward its target at the next evaluation (desired %d, max %d)", p.Name, from, g.Max), "scale out"}
		case p.NoScaleIn:
			return Next{"nothing: target tracking " + p.Name + " has scale-in disabled", "nothing"}
		case g.Warming > 0:
			return Next{fmt.Sprintf("scale-in waits for warm-up (%d instance(s) warming)", g.Warming), "waits warm-up"}
		}
		return Next{fmt.Sprintf("target tracking %s scales in toward its target at the next evaluation (desired %d, min %d)", p.Name, from, g.Min), "scale in"}
	case "SimpleScaling":
		if p.CooldownLeft > 0 {
			return Next{fmt.Sprintf("%s waits for its cooldown (%s left)", who, p.CooldownLeft.Round(time.Second)), "cooldown"}
		}
		return change(who, p.AdjustmentType, p.Adjustment, from, lab.NewCapacity(p.AdjustmentType, capacity, p.Adjustment, p.MinAdjustment), g)
	}
	// StepScaling
	if !a.HasValue {
		return Next{who + " runs at the next evaluation (the metric's value is not known yet)", "runs"}
	}
	adj, ok := lab.StepFor(p.Steps, p.Threshold, a.Value)
	if !ok {
		return Next{fmt.Sprintf("nothing: no step of %s covers %s", who, fmtValue(a.Value)), "nothing"}
	}
	var to int
	switch {
	case adj > 0 || p.AdjustmentType == "ExactCapacity" && adj > from:
		to = max(from, lab.NewCapacity(p.AdjustmentType, capacity-g.Warming, adj, p.MinAdjustment))
		if to == from && g.Warming > 0 && from < g.Max {
			return Next{fmt.Sprintf("nothing: the %d instance(s) warming up already answer this step of %s", g.Warming, who), "warming"}
		}
	case g.Warming > 0:
		return Next{fmt.Sprintf("scale-in waits for warm-up (%d instance(s) warming)", g.Warming), "waits warm-up"}
	default:
		to = min(from, lab.NewCapacity(p.AdjustmentType, capacity, adj, p.MinAdjustment))
	}
	return change(who, p.AdjustmentType, adj, from, to, g)
}

// change words a move of the desired capacity from from to to (clamped).
func change(who, adjType string, adj, from, to int, g Group) Next {
	to = max(g.Min, min(to, g.Max))
	switch {
	case to == from && adj > 0 && from >= g.Max:
		return Next{fmt.Sprintf("nothing: %s is held at the group's max (%d)", who, g.Max), "at max"}
	case to == from && adj < 0 && from <= g.Min:
		return Next{fmt.Sprintf("nothing: %s is held at the group's min (%d)", who, g.Min), "at min"}
	case to == from:
		return Next{fmt.Sprintf("nothing: %s leaves desired at %d", who, from), "nothing"}
	}
	verb := fmt.Sprintf("adds %d", to-from)
	if to < from {
		verb = fmt.Sprintf("removes %d", from-to)
	}
	if adjType == "ExactCapacity" {
		verb = fmt.Sprintf("sets %d", to)
	}
	return Next{fmt.Sprintf("%s %s (desired %d→%d) at the next evaluation", who, verb, from, to), fmt.Sprintf("%d→%d", from, to)}
}

func fmtValue(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
