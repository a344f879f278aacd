package asg

import "time"

// ExecutePolicy runs a scaling policy because its alarm is in ALARM with
// metric value v. CloudWatch calls it for every period the alarm stays in
// ALARM. It reports the new desired capacity and whether it changed.
//
// Step scaling: while new instances warm up they count toward the capacity
// the next step starts from, so repeated breaches in the same step add
// nothing more until warm-up ends; scale-in waits for warm-up to end.
// Simple scaling: after an activity the policy waits for its cooldown.
func (g *Group) ExecutePolicy(name, alarm string, v float64) (int, bool) {
	p, ok := g.policy(name)
	if !ok {
		return g.Desired(), false
	}
	now := g.now()
	g.mu.Lock()
	capacity, warming := g.capacity(now)
	from := g.desired
	to := from
	switch p.Type {
	case "SimpleScaling":
		if t, ok := g.lastSimple[name]; ok && now.Before(t.Add(g.cooldown(p))) {
			g.mu.Unlock()
			return from, false
		}
		to = NewCapacity(p.AdjustmentType, capacity, p.Adjustment, p.MinAdjustment)
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
			to = min(from, NewCapacity(p.AdjustmentType, capacity, adj, p.MinAdjustment))
		}
	}
	to = clamp(to, g.min, g.max)
	if to == from {
		g.mu.Unlock()
		return from, false
	}
	g.desired = to
	if p.Type == "SimpleScaling" {
		g.lastSimple[name] = now
	}
	g.mu.Unlock()
	g.cfg.Events.Publish(DesiredCapacityChanged{Group: g.cfg.Name, From: from, To: to, Policy: name, Alarm: alarm, Value: v})
	g.poke()
	return to, true
}

// capacity counts the pending and in-service instances, and of them those
// still warming up (pending ones included). g.mu must be held.
func (g *Group) capacity(now time.Time) (capacity, warming int) {
	for _, in := range g.instances {
		if in.State == Pending || in.State == InService {
			capacity++
			if now.Before(in.WarmUntil) || in.State == Pending {
				warming++
			}
		}
	}
	return capacity, warming
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
