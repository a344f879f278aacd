package alb

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/simplydone/lab/sim/az"
)

// Several target groups behind one listener (issue 16, item 2). The
// load balancer's own target group is Config.TargetGroupName, with the
// Config's health check; Config.TargetGroups adds more, each with its own
// health check. A forward action names one, or several with weights. Each
// node keeps a route set and a picker per target group, so the routing
// algorithm's state (round robin's position) is per target group, as on
// AWS. What the lab holds once for all of them: the routing algorithm,
// cross-zone, slow start, the deregistration delay, stickiness and the
// target group health thresholds (the stack refuses services that differ),
// and a zone's DNS health, which counts the targets of every group.

// TargetGroupConfig is one more target group of the load balancer.
type TargetGroupConfig struct {
	Name        string
	HealthCheck HealthCheck
	// Prober runs its health checks; nil: HTTP checks as HealthCheck says.
	Prober Prober
}

// WeightedGroup is one target group of a weighted forward.
type WeightedGroup struct {
	Name   string
	Weight int // 0-999; a group of weight 0 gets nothing
}

// tgroup is one target group: its name and health checks.
type tgroup struct {
	name   string
	hc     HealthCheck
	prober Prober // wrapped in faultProber; nil: lb.prober (the load balancer's own group)
}

// groupStats are one node's counts for one target group.
type groupStats struct {
	requests  atomic.Int64 // routed to one of its targets
	noTarget  atomic.Int64 // answered 503: no target to route to
	responses atomic.Int64 // answered by a target
	target2xx atomic.Int64
	target4xx atomic.Int64
	target5xx atomic.Int64
}

func (g *groupStats) status(code int) {
	if g == nil {
		return
	}
	g.responses.Add(1)
	switch code / 100 {
	case 2:
		g.target2xx.Add(1)
	case 4:
		g.target4xx.Add(1)
	case 5:
		g.target5xx.Add(1)
	}
}

// TargetGroupCounts is one target group's traffic since the load balancer
// started, over every node, and its targets' health now.
type TargetGroupCounts struct {
	Name      string
	Requests  int64 // routed to a target
	NoTarget  int64 // 503 Service Unavailable: no target to route to
	Responses int64 // answered by a target (Requests less the load balancer's own 502, 504 and 460)
	Target2XX int64
	Target4XX int64
	Target5XX int64
	Healthy   int   // registered targets the live nodes' views fold to healthy
	Targets   int   // registered targets, draining ones included
	Unhealthy int   // registered targets the live nodes' views fold to unhealthy (not initial, not draining)
	InFlight  int64 // requests its targets are answering now (counted in Requests, not yet in Responses)
}

// ELBErrors are the requests the load balancer answered itself for the
// group: no target (503), and the routed requests no target answered
// (502, 504, 460), those still in flight left out.
func (c TargetGroupCounts) ELBErrors() int64 {
	return c.NoTarget + max(c.Requests-c.Responses-c.InFlight, 0)
}

// TargetGroupNames are the load balancer's target groups, its own first.
func (lb *LoadBalancer) TargetGroupNames() []string { return slices.Clone(lb.groupNames) }

// TargetGroupCounts is target group name's traffic and health.
func (lb *LoadBalancer) TargetGroupCounts(name string) TargetGroupCounts {
	c := TargetGroupCounts{Name: name}
	for _, n := range lb.nodes {
		c.addTraffic(n.GroupCounts(name))
	}
	for _, t := range lb.Targets() {
		if t.Group != name {
			continue
		}
		c.Targets++
		c.InFlight += t.InFlight()
		switch lb.TargetHealth(t.ID) {
		case StateHealthy:
			c.Healthy++
		case StateUnhealthy:
			c.Unhealthy++
		}
	}
	return c
}

// addTraffic adds a node's traffic for the group (GroupCounts) to c:
// InFlight is a remote node's requests in flight (a local node's are its
// targets', counted from them).
func (c *TargetGroupCounts) addTraffic(g TargetGroupCounts) {
	c.Requests += g.Requests
	c.NoTarget += g.NoTarget
	c.Responses += g.Responses
	c.Target2XX += g.Target2XX
	c.Target4XX += g.Target4XX
	c.Target5XX += g.Target5XX
	c.InFlight += g.InFlight
}

// GroupCounts is this node's traffic for target group name since it
// started (Requests, NoTarget, Responses and the targets' codes; the
// health fields are the load balancer's, TargetGroupCounts).
func (n *Node) GroupCounts(name string) TargetGroupCounts {
	c := TargetGroupCounts{Name: name}
	if n.mirror != nil { // the remote node's, as last read
		if st := n.mirror.state.Load(); st != nil {
			for _, g := range st.Groups {
				if g.Name == name {
					return TargetGroupCounts{Name: name, Requests: g.Requests, NoTarget: g.NoTarget, Responses: g.Responses,
						Target2XX: g.Target2XX, Target4XX: g.Target4XX, Target5XX: g.Target5XX, InFlight: g.InFlight}
				}
			}
		}
		return c
	}
	if g := n.stats[name]; g != nil {
		c.Requests, c.NoTarget, c.Responses = g.requests.Load(), g.noTarget.Load(), g.responses.Load()
		c.Target2XX, c.Target4XX, c.Target5XX = g.target2xx.Load(), g.target4xx.Load(), g.target5xx.Load()
	}
	return c
}

// RegisterIn adds a target to target group name (Register: the load
// balancer's own); every node starts health-checking it as that group says.
func (lb *LoadBalancer) RegisterIn(group string, id az.InstanceID, zone string, addr netip.AddrPort) error {
	if lb.groups[group] == nil {
		return fmt.Errorf("register target %s: no target group %q (%v)", id, group, lb.groupNames)
	}
	return lb.register(group, id, zone, addr)
}

// groupOf is t's target group.
func (lb *LoadBalancer) groupOf(t *Target) *tgroup {
	if g := lb.groups[t.Group]; g != nil {
		return g
	}
	return lb.groups[lb.cfg.TargetGroupName]
}

// Target group stickiness of a weighted forward (AWS's
// TargetGroupStickinessConfig, 1-604800 s;
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupStickinessConfig.html:
// "the time period during which requests from a client should be routed
// to the same target group"). The first request picks a group by weight;
// the answer sets AWSALBTG, and AWSALBTGCORS with SameSite=None; Secure,
// sealing the group and the binding's end. A request carrying either
// cookie, sealed by this load balancer, naming a group of the action and
// within its duration, goes to that group whatever the weights say now,
// weight 0 included: the client stays until the duration ends, and only
// then is it routed by weight again (AWS Prescriptive Guidance,
// load-balancer-stickiness/target-group-stickiness: "The instances [...]
// should stay within the target group within the 10-second duration [...]
// After approximately 10 seconds, the stickiness is released"; the AWS
// DevOps blog "Fine-tuning blue/green deployments on application load
// balancer": a weight shift moves the sticky clients only as their
// duration ends). [derived] Unlike AWSALB, the binding's end is not
// pushed back by later requests (the guidance's client, refreshing, is
// released after the duration). A group no longer in the action, or a
// cookie that does not open, is routed by weight. [derived] So is a
// client bound to a group with no target to route to (its instances gone at
// the end of a blue/green shift): AWS does not document this case, and
// holding the client for up to seven days on 503s is what no user of a
// weighted shift would expect; the load balancer's own 503 sets no AWSALBTG.
// Target stickiness (AWSALB) applies inside the group as before.

// forwardGroup is the target group a forward action sends r to, and the
// writer to answer through (setting AWSALBTG when the action is sticky).
func (n *Node) forwardGroup(w http.ResponseWriter, r *http.Request, rules *Rules, a *RuleAction) (string, http.ResponseWriter) {
	if len(a.Weighted) == 0 {
		return a.TargetGroup, w
	}
	if a.Stickiness == 0 || rules.tgSeal == nil {
		return n.pickGroup(a.Weighted), w
	}
	now := n.lb.cfg.Clock.Now()
	for _, name := range []string{CookieAWSALBTG, CookieAWSALBTGCORS} {
		v := cookieValue(r, name)
		if v == "" {
			continue
		}
		until, g, ok := openBinding(rules.tgSeal, v)
		if ok && now.Before(until) && slices.ContainsFunc(a.Weighted, func(w WeightedGroup) bool { return w.Name == string(g) }) &&
			len(n.routesOf(string(g)).routes) > 0 {
			return string(g), &stickyWriter{ResponseWriter: w, tg: v, now: now}
		}
	}
	g := n.pickGroup(a.Weighted)
	if g == "" {
		return g, w
	}
	return g, &stickyWriter{ResponseWriter: w, tg: sealBinding(rules.tgSeal, now.Add(a.Stickiness), []byte(g)), now: now}
}

// pickGroup chooses one of a weighted forward's target groups, each with
// the chance its weight gives it; "" when every weight is 0.
func (n *Node) pickGroup(ws []WeightedGroup) string {
	total := 0
	for _, w := range ws {
		total += w.Weight
	}
	if total == 0 {
		return ""
	}
	x := int(n.fwdSrc.Uint64() % uint64(total))
	for _, w := range ws {
		if x < w.Weight {
			return w.Name
		}
		x -= w.Weight
	}
	return ws[len(ws)-1].Name
}

// routesOf is the route set of target group name on this node.
func (n *Node) routesOf(name string) *routeSet {
	if name == n.lb.cfg.TargetGroupName {
		return n.routes.Load()
	}
	if m := n.others.Load(); m != nil {
		if rs := (*m)[name]; rs != nil {
			return rs
		}
	}
	return n.routes.Load()
}

// SetForwardWeights changes the weights of a forward action, as
// ModifyListener (the default action, priority 0) or ModifyRule (the rule
// of that priority) does: from the next request on, each node sends each
// target group its share. The action must be a forward; every group named
// must be the load balancer's, and at least one weight must be above 0.
func (lb *LoadBalancer) SetForwardWeights(priority int, ws []WeightedGroup) error {
	old := lb.rules.Load()
	if old == nil {
		return errors.New("set forward weights: the listener has no rules; give it a weighted forward action")
	}
	total := 0
	for _, w := range ws {
		if lb.groups[w.Name] == nil {
			return fmt.Errorf("set forward weights: %q is not a target group of this load balancer (%v)", w.Name, lb.groupNames)
		}
		if w.Weight < 0 || w.Weight > 999 {
			return fmt.Errorf("set forward weights: %s: weight %d is not 0-999", w.Name, w.Weight)
		}
		total += w.Weight
	}
	if total == 0 {
		return errors.New("set forward weights: every weight is 0; at least one target group needs a weight above 0")
	}
	rs := *old
	rs.rules = slices.Clone(old.rules)
	var a *RuleAction
	if priority == 0 {
		a = &rs.def
	} else {
		for i := range rs.rules {
			if rs.rules[i].Priority == priority {
				a = &rs.rules[i].Action
			}
		}
	}
	switch {
	case a == nil:
		return fmt.Errorf("set forward weights: no rule of priority %d", priority)
	case a.Type != ActionForward:
		return fmt.Errorf("set forward weights: the action of priority %d is %s, not forward", priority, a.Type)
	}
	a.TargetGroup, a.Weighted = "", slices.Clone(ws)
	lb.rules.Store(&rs)
	lb.weightsRemote(priority, ws) // the nodes on other hosts follow (remote.go)
	return nil
}

// ForwardWeights are a forward action's target groups and weights now
// (priority 0: the default action); one group of weight 1 for an unweighted
// forward.
func (lb *LoadBalancer) ForwardWeights(priority int) []WeightedGroup {
	rs := lb.rules.Load()
	if rs == nil {
		return []WeightedGroup{{Name: lb.cfg.TargetGroupName, Weight: 1}}
	}
	a := &rs.def
	if priority != 0 {
		a = nil
		for i := range rs.rules {
			if rs.rules[i].Priority == priority {
				a = &rs.rules[i].Action
			}
		}
	}
	switch {
	case a == nil || a.Type != ActionForward:
		return nil
	case len(a.Weighted) > 0:
		return slices.Clone(a.Weighted)
	}
	return []WeightedGroup{{Name: a.TargetGroup, Weight: 1}}
}
