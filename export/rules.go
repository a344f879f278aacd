package export

import (
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// Listener rules and target group stickiness (issue 16): aws_lb_listener_rule
// and AWS::ElasticLoadBalancingV2::ListenerRule, one per rule; the
// listener's default action; the target group's stickiness block and
// attributes. A forward names a target group by name; the stack has one,
// aws_lb_target_group.this (TargetGroup).

// tfStickiness writes the target group's stickiness block when the stack
// turns stickiness on (off is AWS's default, left out).
func tfStickiness(w *tf, st stack.Stickiness) {
	if !st.Enabled {
		return
	}
	w.comment("target_group.stickiness")
	w.open("stickiness")
	w.attr("enabled", "true")
	w.attr("type", q(st.Type))
	w.attr("cookie_duration", itoa(secs(st.CookieDuration)))
	if st.Type == stack.StickinessAppCookie {
		w.attr("cookie_name", q(st.CookieName))
	}
	w.close()
}

// tfAction writes one action block (default_action or action).
func tfAction(w *tf, block string, a stack.RuleAction) {
	w.open(block)
	w.attr("type", q(a.Type))
	switch a.Type {
	case stack.ActionForward:
		gs := groupSticky(a)
		if len(a.TargetGroups) == 1 && a.TargetGroups[0].Weight == 1 && gs == 0 {
			w.attr("target_group_arn", w.targetGroup(a.TargetGroups[0].Name))
			break
		}
		w.open("forward")
		for _, tg := range a.TargetGroups {
			w.open("target_group")
			w.attr("arn", w.targetGroup(tg.Name))
			w.attr("weight", itoa(tg.Weight))
			w.close()
		}
		if gs > 0 {
			w.open("stickiness") // target group stickiness (AWSALBTG)
			w.attr("enabled", "true")
			w.attr("duration", itoa(gs))
			w.close()
		}
		w.close()
	case stack.ActionFixedResponse:
		f := a.FixedResponse
		w.open("fixed_response")
		if f.ContentType != "" {
			w.attr("content_type", q(f.ContentType))
		} else { // stack.Parse sets one; a stack built in code may not
			w.attr("content_type", q(stack.DefaultFixedResponseContentType), "the stack gives none; Terraform requires one")
		}
		if f.MessageBody != "" {
			w.attr("message_body", q(f.MessageBody))
		}
		w.attr("status_code", q(itoa(f.StatusCode)))
		w.close()
	case stack.ActionRedirect:
		r := a.Redirect
		w.open("redirect")
		w.attr("protocol", q(r.Protocol))
		w.attr("host", q(r.Host))
		w.attr("port", q(r.Port))
		w.attr("path", q(r.Path))
		w.attr("query", q(r.Query))
		w.attr("status_code", q(r.StatusCode))
		w.close()
	}
	w.close()
}

// targetGroup is the target group a forward names, as a Terraform
// reference: a service's, or the stack's one target group.
func (w *tf) targetGroup(name string) string {
	if ref, ok := w.tgRefs[name]; ok {
		return ref
	}
	return "aws_lb_target_group.this.arn"
}

// tfListenerRules writes one aws_lb_listener_rule per rule.
func tfListenerRules(w *tf, s *stack.Stack) {
	for i, r := range s.LoadBalancer.Rules {
		w.comment(fmt.Sprintf("load_balancer.listener.rules[%d]", i))
		w.resource("resource", "aws_lb_listener_rule", fmt.Sprintf("priority_%d", r.Priority))
		w.attr("listener_arn", "aws_lb_listener.this.arn")
		w.attr("priority", itoa(r.Priority))
		tfAction(w, "action", r.Action)
		for _, c := range r.Conditions {
			w.open("condition")
			block := strings.ReplaceAll(c.Field, "-", "_")
			switch c.Field {
			case stack.CondHTTPHeader:
				w.open(block)
				w.attr("http_header_name", q(c.HTTPHeaderName))
				w.attr("values", qlist(c.Values))
				w.close()
			case stack.CondQueryString:
				for _, p := range c.QueryStrings {
					w.open(block)
					if p.Key != "" {
						w.attr("key", q(p.Key))
					}
					w.attr("value", q(p.Value))
					w.close()
				}
			default:
				w.open(block)
				w.attr("values", qlist(c.Values))
				w.close()
			}
			w.close()
		}
		w.end()
	}
}

// cfnStickinessAttributes are the target group's stickiness attributes
// when the stack turns stickiness on.
func cfnStickinessAttributes(st stack.Stickiness) []any {
	if !st.Enabled {
		return nil
	}
	attrs := []any{tag("stickiness.enabled", "true"), tag("stickiness.type", st.Type)}
	if st.Type == stack.StickinessAppCookie {
		return append(attrs, tag("stickiness.app_cookie.cookie_name", st.CookieName),
			tag("stickiness.app_cookie.duration_seconds", strVal(secs(st.CookieDuration))))
	}
	return append(attrs, tag("stickiness.lb_cookie.duration_seconds", strVal(secs(st.CookieDuration))))
}

// cfnAction is one action as CloudFormation takes it.
func cfnAction(a stack.RuleAction, tgs map[string]string) obj {
	tgRef := func(name string) obj {
		if id, ok := tgs[name]; ok {
			return ref(id)
		}
		return ref("TargetGroup")
	}
	o := obj{{key: "Type", val: a.Type}}
	switch a.Type {
	case stack.ActionForward:
		gs := groupSticky(a)
		if len(a.TargetGroups) == 1 && a.TargetGroups[0].Weight == 1 && gs == 0 {
			o.set("TargetGroupArn", tgRef(a.TargetGroups[0].Name))
			break
		}
		var forwards []any
		for _, tg := range a.TargetGroups {
			forwards = append(forwards, obj{{key: "TargetGroupArn", val: tgRef(tg.Name)}, {key: "Weight", val: tg.Weight}})
		}
		fc := obj{{key: "TargetGroups", val: forwards}}
		if gs > 0 {
			fc.set("TargetGroupStickinessConfig", obj{{key: "Enabled", val: true}, {key: "DurationSeconds", val: gs}})
		}
		o.set("ForwardConfig", fc)
	case stack.ActionFixedResponse:
		f := a.FixedResponse
		c := obj{{key: "StatusCode", val: strVal(f.StatusCode)}}
		if f.ContentType != "" {
			c.set("ContentType", f.ContentType)
		}
		if f.MessageBody != "" {
			c.set("MessageBody", f.MessageBody)
		}
		o.set("FixedResponseConfig", c)
	case stack.ActionRedirect:
		r := a.Redirect
		o.set("RedirectConfig", obj{{key: "Protocol", val: r.Protocol}, {key: "Host", val: r.Host}, {key: "Port", val: r.Port},
			{key: "Path", val: r.Path}, {key: "Query", val: r.Query}, {key: "StatusCode", val: r.StatusCode}})
	}
	return o
}

// cfnConfigKeys are each condition field's configuration property.
var cfnConfigKeys = map[string]string{
	stack.CondHostHeader: "HostHeaderConfig", stack.CondHTTPHeader: "HttpHeaderConfig",
	stack.CondHTTPRequestMethod: "HttpRequestMethodConfig", stack.CondPathPattern: "PathPatternConfig",
	stack.CondQueryString: "QueryStringConfig", stack.CondSourceIP: "SourceIpConfig",
}

// cfnListenerRules adds one ListenerRule per rule.
func cfnListenerRules(res *obj, s *stack.Stack) {
	for i, r := range s.LoadBalancer.Rules {
		var conds []any
		for _, c := range r.Conditions {
			cfg := obj{}
			switch c.Field {
			case stack.CondHTTPHeader:
				cfg = obj{{key: "HttpHeaderName", val: c.HTTPHeaderName}, {key: "Values", val: anyStrs(c.Values)}}
			case stack.CondQueryString:
				var vs []any
				for _, p := range c.QueryStrings {
					kv := obj{}
					if p.Key != "" {
						kv.set("Key", p.Key)
					}
					kv.set("Value", p.Value)
					vs = append(vs, kv)
				}
				cfg = obj{{key: "Values", val: vs}}
			default:
				cfg = obj{{key: "Values", val: anyStrs(c.Values)}}
			}
			conds = append(conds, obj{{key: "Field", val: c.Field}, {key: cfnConfigKeys[c.Field], val: cfg}})
		}
		res.set(fmt.Sprintf("ListenerRule%d", r.Priority), resource("AWS::ElasticLoadBalancingV2::ListenerRule", obj{
			{key: "ListenerArn", val: ref("Listener")},
			{key: "Priority", val: r.Priority},
			{key: "Actions", val: []any{cfnAction(r.Action, cfnTGRefs(s))}},
			{key: "Conditions", val: conds}}), fmt.Sprintf("load_balancer.listener.rules[%d]", i))
	}
}

func anyStrs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// groupSticky is a forward's target group stickiness (AWSALBTG) in whole
// seconds; 0 when it is off (a disabled block is written as none: both
// route by weight alone).
func groupSticky(a stack.RuleAction) int {
	if gs := a.GroupStickiness; gs != nil && gs.Enabled {
		return int(gs.Duration.Seconds())
	}
	return 0
}
