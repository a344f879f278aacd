package asg

// rebalanceAllowance is how far above max AZRebalance may take the group
// while it launches before terminating: 10% of max or one instance,
// whichever is larger (aws-behaviour.md 2.1).
func rebalanceAllowance(maxSize int) int { return max(1, maxSize/10) }

// zoneImbalance is how many instances the fullest zone has over the
// emptiest zone that takes launches; zones that are impaired do not count
// as the emptiest (nothing can launch there).
func zoneImbalance(zones []string, counts map[string]int, impaired func(string) bool) int {
	lo, hi := -1, 0
	for _, z := range zones {
		hi = max(hi, counts[z])
		if !impaired(z) && (lo < 0 || counts[z] < lo) {
			lo = counts[z]
		}
	}
	if lo < 0 {
		return 0
	}
	return hi - lo
}

// rebalanceStep is AZRebalance: when the zones are out of balance by more
// than one instance (an impaired zone has come back), the group launches in
// the emptiest zone first, going above desired (and max, by the allowance),
// and once those instances are healthy behind the load balancer it
// terminates the extras in the fullest zones (launch before terminating,
// aws-behaviour.md 2.2, 2.9). It stands aside while an instance refresh
// runs. g.mu must not be held.
func (g *Group) rebalanceStep() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refresh != nil && !g.refresh.Done() {
		return
	}
	counts := map[string]int{}
	capacity, ready := 0, 0
	for _, in := range g.instances {
		if live(in) {
			counts[in.Zone]++
			capacity++
			if in.State == InService && g.cfg.Targets.State(in.ID) == "healthy" {
				ready++
			}
		}
	}
	if g.rebalancing {
		if capacity < g.desired+g.surge || ready < capacity {
			return // still launching, or the new instances are not healthy yet
		}
		g.rebalancing, g.rebalanced, g.surge = false, max(0, capacity-g.desired), 0
		return
	}
	if capacity != g.desired || zoneImbalance(g.cfg.Zones, counts, func(z string) bool { return g.impaired[z] > 0 }) <= 1 {
		return
	}
	ceiling := g.max + rebalanceAllowance(g.max)
	surge := min(rebalanceAllowance(g.max), ceiling-g.desired)
	if surge <= 0 {
		return
	}
	g.rebalancing, g.surge = true, surge
}
