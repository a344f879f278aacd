package asg

import (
	"maps"
	"math"
	"slices"
)

// TargetTrackingScaling is the policy type of target tracking policies.
const TargetTrackingScaling = "TargetTrackingScaling"

// Side says which of a target tracking policy's two alarms evaluated.
type Side int

const (
	// AlarmHigh is the scale-out alarm: metric > target.
	AlarmHigh Side = iota
	// AlarmLow is the scale-in alarm: metric well below target.
	AlarmLow
)

// trackingCapacity is the capacity one target tracking policy asks for,
// proportional to how far the metric is from the target:
// ceil(capacity × metric / target). AWS rounds so as to over-provision
// (aws-behaviour.md 2.6: "1.5 instances to add becomes 2; 1.5 to remove
// becomes 1"), so both directions round the capacity up. Scale-out asks
// for at least one more instance, scale-in never for more than capacity.
// The result is not clamped to min and max.
func trackingCapacity(side Side, capacity int, metric, target float64) int {
	if target <= 0 || capacity < 0 {
		return capacity
	}
	want := float64(capacity) * metric / target
	// Absorb float noise such as 3×70/30 = 7.000000000000001.
	n := int(math.Ceil(want - 1e-9))
	if side == AlarmHigh {
		return max(n, capacity+1)
	}
	return max(0, min(n, capacity))
}

// vote is a target tracking policy's latest proposal: set on every
// evaluation of one of its alarms in ALARM, cleared when that alarm
// evaluates to anything else (INSUFFICIENT_DATA included: AWS does not
// scale on missing data).
type vote struct {
	Policy   string
	Alarm    string
	Value    float64
	Side     Side
	Capacity int // the capacity the policy asks for
	Basis    int // the group's capacity the proposal was computed from
}

// combine decides the group's new desired capacity from the target tracking
// policies' votes, as AWS combines several policies (aws-behaviour.md 2.6):
// scale out if any policy says so, scale in only if every policy with
// scale-in enabled agrees, and the largest capacity wins both ways.
// scaleIn lists the policies with scale-in enabled; capacity is the group's
// current capacity, and a scale-in vote counts only if it was computed from
// it; canScaleIn is false while instances warm up. It returns the winning
// vote and whether the desired capacity changes (before min and max).
func combine(desired, capacity int, votes map[string]vote, scaleIn []string, canScaleIn bool) (int, vote, bool) {
	var best vote
	found := false
	for _, name := range slices.Sorted(maps.Keys(votes)) {
		v := votes[name]
		if v.Side == AlarmHigh && (!found || v.Capacity > best.Capacity) {
			best, found = v, true
		}
	}
	if found {
		if best.Capacity > desired {
			return best.Capacity, best, true
		}
		return desired, best, false // an out vote blocks scale-in
	}
	if !canScaleIn || len(scaleIn) == 0 {
		return desired, vote{}, false
	}
	for _, name := range scaleIn {
		v, ok := votes[name]
		if !ok || v.Side != AlarmLow || v.Basis != capacity {
			return desired, vote{}, false
		}
		if !found || v.Capacity > best.Capacity {
			best, found = v, true
		}
	}
	if best.Capacity < desired {
		return best.Capacity, best, true
	}
	return desired, best, false
}

// TrackTarget is called by CloudWatch for every evaluation of one of a
// target tracking policy's two alarms; inAlarm is whether the alarm is in
// ALARM and v its latest datapoint. In ALARM it records the policy's
// proposal and applies what the policies decide together (combine); in any
// other state it withdraws the proposal that alarm made. It reports the new
// desired capacity and whether it changed.
//
// Scale-out starts from the instances past their warm-up, because the
// metric leaves warming instances out and they already count toward the
// desired capacity (aws-behaviour.md 2.6, 2.7): a breach they already answer
// adds nothing. Scale-in waits until no instance is warming up (by the
// policy's own EstimatedInstanceWarmup when it has one), and counts the
// terminating instances as capacity.
func (g *Group) TrackTarget(name, alarm string, side Side, inAlarm bool, v float64) (int, bool) {
	p, ok := g.policy(name)
	if !ok || p.Type != TargetTrackingScaling {
		return g.Desired(), false
	}
	now := g.now()
	g.mu.Lock()
	capacity, warming, terminating := g.capacity(now, g.policyWarmup(p))
	from := g.desired
	if !inAlarm || side == AlarmLow && p.DisableScaleIn {
		if cur, ok := g.votes[name]; ok && cur.Side == side {
			delete(g.votes, name)
		}
		g.mu.Unlock()
		return from, false
	}
	// Scale-in counts the terminating instances as capacity, so a breach
	// while the last scale-in drains removes nothing more (aws-behaviour.md 2.6).
	basis, current := capacity+terminating, capacity+terminating
	if side == AlarmHigh {
		basis = capacity - warming
	}
	g.votes[name] = vote{Policy: name, Alarm: alarm, Value: v, Side: side,
		Capacity: trackingCapacity(side, basis, v, p.TargetValue), Basis: current}
	var scaleIn []string
	for _, q := range g.cfg.Policies {
		if q.Type == TargetTrackingScaling && !q.DisableScaleIn {
			scaleIn = append(scaleIn, q.Name)
		}
	}
	to, w, changed := combine(from, current, g.votes, scaleIn, warming == 0)
	to = clamp(to, g.min, g.max)
	if !changed || to == from {
		g.mu.Unlock()
		return from, false
	}
	g.desired = to
	g.mu.Unlock()
	g.cfg.Events.Publish(DesiredCapacityChanged{Group: g.cfg.Name, From: from, To: to, Policy: w.Policy, Alarm: w.Alarm, Value: w.Value})
	g.poke()
	return to, true
}
