package asg

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// ImpairZone makes the group's launches into zone fail with
// InsufficientInstanceCapacity until restore is called, as FIS's
// aws:ec2:asg-insufficient-instance-capacity-error does (percentage 100).
// The group follows balanced-best-effort: a launch that fails in the zone
// with the fewest instances goes to the next one. Impairments nest; restore
// is safe to call twice.
func (g *Group) ImpairZone(zone string) (restore func(), err error) {
	if !slices.Contains(g.cfg.Zones, zone) {
		return nil, fmt.Errorf("auto scaling group %s has no zone %q", g.cfg.Name, zone)
	}
	g.mu.Lock()
	if g.impaired == nil {
		g.impaired = map[string]int{}
	}
	g.impaired[zone]++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			if g.impaired[zone]--; g.impaired[zone] <= 0 {
				delete(g.impaired, zone)
			}
			g.mu.Unlock()
			g.poke() // the zone takes launches again
		})
	}, nil
}

// ZoneImpaired says whether launches into zone fail now.
func (g *Group) ZoneImpaired(zone string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.impaired[zone] > 0
}

// launchOrder is the zones in the order a launch tries them: fewest
// instances first, ties in the group's zone order (pickZone's choice first).
func launchOrder(zones []string, counts []int) []string {
	idx := make([]int, len(zones))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(counts[a], counts[b]) })
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = zones[j]
	}
	return out
}

// insufficientCapacity publishes the failed launch AWS shows for an
// impaired zone.
func (g *Group) insufficientCapacity(zone string, capacity int) {
	g.cfg.Events.Publish(ScalingActivity{Group: g.cfg.Name, Zone: zone, Action: "Launch", Status: ActivityFailed,
		Description: fmt.Sprintf("Launching a new EC2 instance. Status Reason: We currently do not have sufficient capacity in the Availability Zone you requested (%s). Launching EC2 instance failed", zone),
		Cause: fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d. InsufficientInstanceCapacity in %s: trying another zone (balanced-best-effort)",
			stamp(g.now()), capacity, capacity+1, zone)})
}
