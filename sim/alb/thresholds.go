package alb

import (
	"errors"
	"fmt"
)

// MinimumHealthy is one unhealthy-state action's threshold: the action is
// taken when the healthy targets fall below Count, or below Percentage of
// the targets, whichever is breached first. Zero is "off".
type MinimumHealthy struct {
	Count      int // minimum_healthy_targets.count; 0: off
	Percentage int // minimum_healthy_targets.percentage, 1-100; 0: off
}

// TargetGroupHealth is the target group's health requirements, AWS's
// target_group_health.* attributes.
type TargetGroupHealth struct {
	// UnhealthyStateRouting: below it the node fails open and routes to
	// every target it may use, unhealthy ones included
	// (target_group_health.unhealthy_state_routing.minimum_healthy_targets.*).
	UnhealthyStateRouting MinimumHealthy
	// DNSFailover: below it the zone's node is marked unhealthy in DNS
	// (target_group_health.dns_failover.minimum_healthy_targets.*).
	DNSFailover MinimumHealthy
}

// DefaultTargetGroupHealth is AWS's default: both actions at a count of 1,
// percentages off. So a node fails open, and its zone leaves DNS, only when
// it has no healthy target at all.
func DefaultTargetGroupHealth() TargetGroupHealth {
	return TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 1}, DNSFailover: MinimumHealthy{Count: 1}}
}

// Validate checks the thresholds' ranges: the routing count is 1 or more
// (it cannot be off), the DNS count off or 1 or more, percentages off or
// 1-100. (AWS's rule that DNS failover's threshold be at least routing
// failover's, where a file sets both, is the stack's to check.)
func (h TargetGroupHealth) Validate() error {
	var errs []error
	if h.UnhealthyStateRouting.Count < 1 {
		errs = append(errs, fmt.Errorf("unhealthy_state_routing minimum healthy targets count %d: use 1 or more", h.UnhealthyStateRouting.Count))
	}
	if h.DNSFailover.Count < 0 {
		errs = append(errs, fmt.Errorf("dns_failover minimum healthy targets count %d: use off (0) or 1 or more", h.DNSFailover.Count))
	}
	for _, a := range []struct {
		name string
		m    MinimumHealthy
	}{{"unhealthy_state_routing", h.UnhealthyStateRouting}, {"dns_failover", h.DNSFailover}} {
		if a.m.Percentage < 0 || a.m.Percentage > 100 {
			errs = append(errs, fmt.Errorf("%s minimum healthy targets percentage %d: use off (0) or 1-100", a.name, a.m.Percentage))
		}
	}
	return errors.Join(errs...)
}

// Below reports whether healthy targets out of total breach the threshold.
// A percentage is of the targets the node may route to (registered, not
// draining, and in its own zone when cross-zone is off), as AWS computes it
// "based on the total number of targets registered".
func (m MinimumHealthy) Below(healthy, total int) bool {
	if m.Count > 0 && healthy < m.Count {
		return true
	}
	return m.Percentage > 0 && healthy*100 < m.Percentage*total
}

// zoneHealth is what one node's targets say about its zone: how many it may
// route to and how many of those are healthy. With cross-zone off these are
// the zone's own targets; with it on, every zone's, as AWS evaluates the
// thresholds per zone or over all enabled zones.
type zoneHealth struct{ healthy, total int }

// zoneHealthLocked counts the node's routable targets; n.mu must be held.
func (n *Node) zoneHealthLocked() zoneHealth { return sumHealth(n.groupHealthLocked()) }

// sumHealth is every target group's counts together.
func sumHealth(groups map[string]zoneHealth) zoneHealth {
	var z zoneHealth
	for _, g := range groups {
		z.healthy, z.total = z.healthy+g.healthy, z.total+g.total
	}
	return z
}

// groupHealthLocked is zoneHealthLocked per target group, every group of
// the load balancer in it (one with no routable target here counts 0 of 0);
// n.mu must be held.
func (n *Node) groupHealthLocked() map[string]zoneHealth {
	out := make(map[string]zoneHealth, len(n.lb.groupNames))
	for _, g := range n.lb.groupNames {
		out[g] = zoneHealth{}
	}
	for _, v := range n.views {
		if !n.routable(v) {
			continue
		}
		g := v.t.Group
		if _, ok := out[g]; !ok {
			g = n.lb.cfg.TargetGroupName
		}
		z := out[g]
		z.total++
		if v.health.State == StateHealthy {
			z.healthy++
		}
		out[g] = z
	}
	return out
}

// dnsBelow says whether a node's zone leaves DNS: when any target group
// falls below the dns_failover threshold there ("if any target group has
// all its targets unhealthy in an AZ, that AZ's load balancer node IPs are
// removed from DNS").
func (lb *LoadBalancer) dnsBelow(groups map[string]zoneHealth) bool {
	if len(groups) == 0 {
		return lb.tgHealth.DNSFailover.Below(0, 0)
	}
	for _, z := range groups {
		if lb.tgHealth.DNSFailover.Below(z.healthy, z.total) {
			return true
		}
	}
	return false
}

// failOpen decides routing failover for a node that may route to total
// targets, healthy of them healthy: below the unhealthy_state_routing
// threshold the node sends traffic to all of them. No target at all is not
// failing open: there is nothing to route to (503).
func (lb *LoadBalancer) failOpen(healthy, total int) bool {
	return total > 0 && lb.tgHealth.UnhealthyStateRouting.Below(healthy, total)
}

// DNSHealthy reports whether the load balancer's node in zone stays in the
// load balancer's DNS entry: false when the healthy targets it sees fall
// below the dns_failover threshold (per zone with cross-zone off, over all
// zones with it on), and for a zone the load balancer has no node in. With
// cross-zone off an empty zone is unhealthy in DNS: it has no healthy target
// (its node answers 503). The entry should hand out only healthy zones'
// nodes, and every node when no zone is healthy, as AWS does (see
// DNSZones); clients may still hold a removed node's address until the
// record's TTL (60 s) passes.
func (lb *LoadBalancer) DNSHealthy(zone string) bool {
	for _, n := range lb.nodes {
		if n.zone.Name == zone {
			n.mu.Lock()
			gs := n.groupHealthLocked()
			n.mu.Unlock()
			return !lb.dnsBelow(gs)
		}
	}
	return false
}

// RoutingHealthy reports whether the node in zone routes to healthy targets
// only (HealthyStateRouting), false while it fails open below the
// unhealthy_state_routing threshold (UnhealthyStateRouting) or when the load
// balancer has no node there.
func (lb *LoadBalancer) RoutingHealthy(zone string) bool {
	for _, n := range lb.nodes {
		if n.zone.Name == zone {
			n.mu.Lock()
			z := n.zoneHealthLocked()
			n.mu.Unlock()
			return !lb.failOpen(z.healthy, z.total)
		}
	}
	return false
}

// DNSZones is the zones whose nodes the DNS entry hands out: the zones that
// are healthy in DNS, in zone order, or every zone when none is ("if all
// load balancer zones are considered unhealthy, the load balancer sends
// traffic to all zones").
func (lb *LoadBalancer) DNSZones() []string {
	var healthy, all []string
	for _, n := range lb.nodes {
		all = append(all, n.zone.Name)
		if lb.DNSHealthy(n.zone.Name) {
			healthy = append(healthy, n.zone.Name)
		}
	}
	if len(healthy) == 0 {
		return all
	}
	return healthy
}

// zoneState is one node's target group health as last published.
type zoneState struct {
	routingUnhealthy bool // failing open (UnhealthyStateRouting)
	dnsUnhealthy     bool // out of DNS (UnhealthyStateDNS)
	known            bool
}

// noteZoneHealth publishes a change of node n's target group health: into
// or out of routing failover, out of or back into DNS. Call it after a
// rebuild, without n.mu held.
func (lb *LoadBalancer) noteZoneHealth(n *Node) {
	n.mu.Lock()
	gs := n.groupHealthLocked()
	n.mu.Unlock()
	z := sumHealth(gs)
	now := zoneState{
		routingUnhealthy: lb.failOpen(z.healthy, z.total),
		dnsUnhealthy:     lb.dnsBelow(gs),
		known:            true,
	}
	lb.zmu.Lock()
	old := lb.zoneState[n.zone.Name]
	if !old.known {
		// a node starts with no target: not failing open, and in or out of
		// DNS as the dns_failover threshold says of an empty zone
		old = zoneState{dnsUnhealthy: lb.tgHealth.DNSFailover.Below(0, 0), known: true}
	}
	lb.zoneState[n.zone.Name] = now
	lb.zmu.Unlock()
	if lb.ctx == nil || lb.ctx.Err() != nil {
		return // not running, or closed
	}
	if now.routingUnhealthy != old.routingUnhealthy {
		lb.cfg.Events.Publish(TargetGroupHealthChanged{Node: n.zone.Name, Action: "routing", Unhealthy: now.routingUnhealthy, Healthy: z.healthy, Total: z.total})
	}
	if now.dnsUnhealthy != old.dnsUnhealthy {
		lb.cfg.Events.Publish(TargetGroupHealthChanged{Node: n.zone.Name, Action: "dns", Unhealthy: now.dnsUnhealthy, Healthy: z.healthy, Total: z.total})
	}
}

// TargetGroupHealthChanged is published when a node's zone crosses a target
// group health threshold: Action "routing" (unhealthy: the node fails open
// and routes to all its targets) or "dns" (unhealthy: the zone's node is
// marked unhealthy in DNS).
type TargetGroupHealthChanged struct {
	Node      string `json:"node"`
	Action    string `json:"action"` // routing or dns
	Unhealthy bool   `json:"unhealthy"`
	Healthy   int    `json:"healthy"` // healthy targets the node counts
	Total     int    `json:"total"`   // targets the node may route to
}

func (TargetGroupHealthChanged) Kind() string { return "lb" }

func (e TargetGroupHealthChanged) Message() string {
	switch {
	case e.Action == "routing" && e.Unhealthy:
		return fmt.Sprintf("node %s: UnhealthyStateRouting: %d of %d targets healthy, below the unhealthy_state_routing threshold; routing to all targets (fail open)", e.Node, e.Healthy, e.Total)
	case e.Action == "routing":
		return fmt.Sprintf("node %s: HealthyStateRouting: %d of %d targets healthy; routing to healthy targets only", e.Node, e.Healthy, e.Total)
	case e.Unhealthy:
		return fmt.Sprintf("node %s: UnhealthyStateDNS: %d of %d targets healthy, below the dns_failover threshold; the zone's node is marked unhealthy in DNS", e.Node, e.Healthy, e.Total)
	}
	return fmt.Sprintf("node %s: HealthyStateDNS: %d of %d targets healthy; the zone's node is healthy in DNS", e.Node, e.Healthy, e.Total)
}
