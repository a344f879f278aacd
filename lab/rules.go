package lab

import (
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/stack"
)

// listenerRules turns the stack's listener rules into the load balancer's.
func listenerRules(s *stack.Stack) []alb.Rule {
	var out []alb.Rule
	for _, r := range s.LoadBalancer.Rules {
		ar := alb.Rule{Priority: r.Priority, Action: ruleAction(r.Action)}
		for _, c := range r.Conditions {
			ac := alb.Condition{Field: c.Field, Values: c.Values, HeaderName: c.HTTPHeaderName}
			for _, q := range c.QueryStrings {
				ac.Query = append(ac.Query, alb.QueryPair{Key: q.Key, Value: q.Value})
			}
			ar.Conditions = append(ar.Conditions, ac)
		}
		out = append(out, ar)
	}
	return out
}

// defaultAction is the listener's default action when the stack sets one;
// nil forwards to the target group.
func defaultAction(s *stack.Stack) *alb.RuleAction {
	if s.LoadBalancer.DefaultAction == nil {
		return nil
	}
	a := ruleAction(*s.LoadBalancer.DefaultAction)
	return &a
}

func ruleAction(a stack.RuleAction) alb.RuleAction {
	out := alb.RuleAction{Type: a.Type}
	switch a.Type {
	case stack.ActionForward:
		// One target group: the forward names it; several: by weight
		// (each service's target group, stack/services.go).
		switch {
		case len(a.TargetGroups) == 1:
			out.TargetGroup = a.TargetGroups[0].Name
		case len(a.TargetGroups) > 1:
			for _, tg := range a.TargetGroups {
				out.Weighted = append(out.Weighted, alb.WeightedGroup{Name: tg.Name, Weight: tg.Weight})
			}
		}
		if gs := a.GroupStickiness; gs != nil && gs.Enabled {
			out.Stickiness = gs.Duration // AWSALBTG (sim/alb/groups.go)
		}
	case stack.ActionFixedResponse:
		f := a.FixedResponse
		out.StatusCode, out.ContentType, out.Body = f.StatusCode, f.ContentType, f.MessageBody
	case stack.ActionRedirect:
		r := a.Redirect
		code := 301
		if r.StatusCode == "HTTP_302" {
			code = 302
		}
		out.Redirect = alb.Redirect{Protocol: r.Protocol, Host: r.Host, Port: r.Port, Path: r.Path, Query: r.Query, Code: code}
	}
	return out
}

// stickiness is the target group's stickiness as the load balancer's; off
// unless enabled.
func stickiness(st stack.Stickiness) alb.Stickiness {
	if !st.Enabled {
		return alb.Stickiness{}
	}
	return alb.Stickiness{Type: st.Type, Duration: st.CookieDuration, CookieName: st.CookieName}
}

// StickyUsers is how many virtual users the load generator runs as when
// the target group is sticky, each with its own cookie jar, so that
// stickiness binds users, not the whole load, to targets. A lab figure:
// enough users that each target gets many at the group's sizes.
const StickyUsers = 500

// loadUsers is the open model's virtual users for the stack and scenario:
// the scenario's load.users if it gives them; else none (every request a
// new visitor, as before) unless the target group is sticky. A users phase
// brings its own.
func loadUsers(s *stack.Stack, sc *scenarios.Scenario) int {
	if sc.Load.Users > 0 && !sc.Load.Closed() {
		return sc.Load.Users
	}
	if s.TargetGroup.Stickiness.Enabled || groupSticky(s) {
		return StickyUsers
	}
	return 0
}

// groupSticky says a forward of the listener keeps clients on a target
// group (AWSALBTG): users need their own cookies for it to bind them.
func groupSticky(s *stack.Stack) bool {
	for _, a := range append([]stack.RuleAction{s.DefaultAction()}, ruleActions(s)...) {
		if gs := a.GroupStickiness; gs != nil && gs.Enabled {
			return true
		}
	}
	return false
}

func ruleActions(s *stack.Stack) []stack.RuleAction {
	var out []stack.RuleAction
	for _, r := range s.LoadBalancer.Rules {
		out = append(out, r.Action)
	}
	return out
}
