package asg

import "time"

// ExecutePolicy runs a scaling policy because its alarm is in ALARM with
// metric value v. CloudWatch calls it for every period the alarm stays in
// ALARM. It reports the new desired capacity and whether it changed.
//
// Step scaling: while new instances warm up they count toward the capacity
// the next step starts from, so repeated breaches in the same step add
// nothing more until warm-up ends; scale-in waits for warm-up to end.
// Simple scaling: the cooldown is the group's (any simple policy's
// activity holds every simple policy), and it starts when the activity
// completes: the last instance in service (after its pending time and
// launch hooks) or terminated (after draining and termination hooks).
// While any activity is in progress (a launch, a termination, a health
// replacement) simple policies wait too (aws-behaviour.md 2.6).
// Scale-in counts terminating instances as capacity, so a breach while
// the last scale-in drains removes nothing more.
func (g *Group) ExecutePolicy(name, alarm string, v float64) (int, bool) {
	p, ok := g.policy(name)
	if !ok {
		return g.Desired(), false
	}
	now := g.now()
	g.mu.Lock()
	capacity, warming, terminating := g.capacity(now, g.policyWarmup(p))
	from := g.desired
	to := from
	switch p.Type {
	case "SimpleScaling":
		if g.simpleBusy || g.activityInProgress() || now.Before(g.cooldownEnd) {
			g.mu.Unlock()
			return from, false
		}
		base := capacity
		if p.Adjustment < 0 || p.AdjustmentType == ExactCapacity {
			base += terminating
		}
		to = NewCapacity(p.AdjustmentType, base, p.Adjustment, p.MinAdjustment)
	case TargetTrackingScaling:
		g.mu.Unlock()
		return from, false // driven by TrackTarget
	default: // StepScaling
		adj, ok := StepFor(p.Steps, p.Threshold, v)
		if !ok {
			g.mu.Unlock()
			return from, false
		}
		switch {
		case adj > 0 || p.AdjustmentType == ExactCapacity && adj > from:
			// Scale out from the capacity before the instances still
			// warming up: they already answer a breach of the same step.
			to = max(from, NewCapacity(p.AdjustmentType, capacity-warming, adj, p.MinAdjustment))
		case warming > 0:
			g.mu.Unlock()
			return from, false // scale-in waits for warm-up to end
		default:
			// Scale in from the capacity with the terminating instances:
			// they already answer a breach of the same step.
			to = min(from, NewCapacity(p.AdjustmentType, capacity+terminating, adj, p.MinAdjustment))
		}
	}
	to = clamp(to, g.min, g.max)
	if to == from {
		g.mu.Unlock()
		return from, false
	}
	g.desired = to
	if p.Type == "SimpleScaling" {
		g.simpleBusy, g.simpleCooldown = true, g.cooldown(p)
	}
	g.mu.Unlock()
	g.cfg.Events.Publish(DesiredCapacityChanged{Group: g.cfg.Name, From: from, To: to, Policy: name, Alarm: alarm, Value: v})
	g.poke()
	return to, true
}

// capacity counts the pending and in-service instances, and of them those
// still warming up for a warm-up of warmup (pending ones included), and
// the terminating ones apart. g.mu must be held.
func (g *Group) capacity(now time.Time, warmup time.Duration) (capacity, warming, terminating int) {
	for _, in := range g.instances {
		switch in.State {
		case Pending, InService:
			capacity++
			if in.State == Pending || now.Before(in.InService.Add(warmup)) {
				warming++
			}
		case Terminating:
			terminating++
		}
	}
	return capacity, warming, terminating
}

// policyWarmup is a policy's instance warm-up, as AWS falls back:
// EstimatedInstanceWarmup, else DefaultInstanceWarmup, else DefaultCooldown
// (aws-behaviour.md 2.7).
func (g *Group) policyWarmup(p Policy) time.Duration {
	if p.Warmup != nil {
		return *p.Warmup
	}
	return g.warmup()
}

// activityInProgress says whether an instance is launching (pending, its
// launch hooks included) or terminating. g.mu must be held.
func (g *Group) activityInProgress() bool {
	for _, in := range g.instances {
		if in.State == Pending || in.State == Terminating {
			return true
		}
	}
	return false
}

// settleSimple starts the simple scaling cooldown once the activity a
// simple policy started has completed: nothing launching or terminating
// and the capacity at desired.
func (g *Group) settleSimple() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.simpleBusy || g.activityInProgress() {
		return
	}
	n := 0
	for _, in := range g.instances {
		if in.State == InService {
			n++
		}
	}
	if n != g.desired {
		return
	}
	g.simpleBusy = false
	g.cooldownEnd = g.now().Add(g.simpleCooldown)
}

func (g *Group) policy(name string) (Policy, bool) {
	for _, p := range g.cfg.Policies {
		if p.Name == name {
			return p, true
		}
	}
	return Policy{}, false
}

func (g *Group) cooldown(p Policy) time.Duration {
	if p.Cooldown > 0 {
		return p.Cooldown
	}
	return g.cfg.DefaultCooldown
}
