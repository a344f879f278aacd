package tfimport

import (
	"fmt"
	"sort"
	"strings"

	"github.com/simplydone/lab/stack"
)

// Listener rules (issue 16): the rehearsed listener's aws_lb_listener_rule
// resources (CloudFormation's ListenerRule) become
// load_balancer.listener.rules, and a default action other than a forward
// becomes listener.default_action. A forward names the services' target
// groups (services.go), or a one-service stack's one; a rule forwarding to
// a target group no Auto Scaling group registers with is noted and left
// out.

// listenerRules are the aws_lb_listener_rule resources of listener l.
func (m *mapper) listenerRules(l *Instance) []*Instance {
	if l == nil {
		return nil
	}
	var out []*Instance
	for _, r := range m.byType["aws_lb_listener_rule"] {
		if v := r.Body.Attrs["listener_arn"]; v != nil && isStr(v.V) && m.ref(v.V.AsString(), "aws_lb_listener") == l {
			out = append(out, r)
		}
	}
	return out
}

// ruleForwards are the target groups the rules of l forward to.
func (m *mapper) ruleForwards(l *Instance) []string {
	var out []string
	for _, r := range m.listenerRules(l) {
		out = append(out, actionForwards(r.Body, "action")...)
	}
	return out
}

// actionForwards are the target group ARNs the blocks of kind forward to.
func actionForwards(b *Body, kind string) []string {
	var out []string
	for _, blk := range b.Blocks {
		if blk.Type != kind {
			continue
		}
		if v := blk.Body.Attrs["target_group_arn"]; v != nil && isStr(v.V) {
			out = append(out, v.V.AsString())
		}
		for _, f := range blk.Body.Blocks {
			if f.Type != "forward" {
				continue
			}
			for _, t := range f.Body.Blocks {
				if v := t.Body.Attrs["arn"]; t.Type == "target_group" && v != nil && isStr(v.V) {
					out = append(out, v.V.AsString())
				}
			}
		}
	}
	return out
}

// mapRules maps the rules of the rehearsed listener l, in priority order.
func (m *mapper) mapRules(l, tg *Instance, tgName string) {
	type prio struct {
		r *Instance
		p int
	}
	var rules []prio
	for _, r := range m.listenerRules(l) {
		p, ok := m.integer(r, r.Body.attr("priority"), "priority", "left out")
		if !ok {
			m.instNote(r, Inexact, r.Addr, "no known priority; the rule is left out")
			m.used[r] = true
			continue
		}
		rules = append(rules, prio{r, p})
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].p < rules[j].p })
	n := 0
	for _, pr := range rules {
		r := pr.r
		m.used[r] = true
		r.Body.attr("listener_arn")
		if other := m.foreignForward(r.Body, "action", tg); other != "" {
			m.instNote(r, NotModelled, r.Addr, "it forwards to %s, which no Auto Scaling group of the configuration registers with; the rule is left out", other)
			markAll(r.Body)
			continue
		}
		path := fmt.Sprintf("load_balancer.listener.rules[%d].", n)
		n++
		m.d.set(path+"priority", pr.p, m.from(r, r.Body.Attrs["priority"], "priority"))
		if a := r.Body.block("action"); a != nil {
			m.action(r, a, path+"action.", tgName)
		}
		for j, c := range r.Body.blocks("condition") {
			m.condition(r, c.Body, fmt.Sprintf("%sconditions[%d].", path, j))
		}
	}
}

// foreignForward is a target group other than tg that blocks of kind
// forward to, or "".
func (m *mapper) foreignForward(b *Body, kind string, tg *Instance) string {
	for _, arn := range actionForwards(b, kind) {
		if t := m.ref(arn, "aws_lb_target_group"); t != tg && (m.tgNames == nil || t == nil || m.tgNames[t] == "") {
			if t != nil {
				return t.Addr
			}
			return arn
		}
	}
	return ""
}

// action maps one action block at path (ending in ".").
func (m *mapper) action(i *Instance, a *Body, path, tgName string) {
	typ, ok := m.str(i, a.attr("type"), "action.type", "left out")
	if !ok {
		return
	}
	from := m.from(i, a.Attrs["type"], "action.type")
	switch typ {
	case stack.ActionForward:
		arn := ""
		if v := a.attr("target_group_arn"); v != nil && isStr(v.V) {
			arn = v.V.AsString()
		}
		f := a.block("forward")
		if f == nil {
			name := m.forwardName(arn, tgName)
			if name == "" {
				m.instNote(i, NotModelled, i.Addr+": forward", "forwards to %s, which no Auto Scaling group registers with: the action is left out", arn)
				return
			}
			m.d.set(strings.TrimSuffix(path, ".")+".forward", name, from)
			return
		}
		k := 0
		for _, t := range f.blocks("target_group") {
			arn := ""
			if v := t.Body.attr("arn"); v != nil && isStr(v.V) {
				arn = v.V.AsString()
			}
			name := m.forwardName(arn, tgName)
			if name == "" {
				m.instNote(i, NotModelled, i.Addr+": forward", "target group %s: no Auto Scaling group registers with it, so it is left out of the forward", arn)
				continue
			}
			tp := fmt.Sprintf("%sforward.target_groups[%d].", path, k)
			m.d.set(tp+"name", name, from)
			m.setInt(tp+"weight", i, t.Body, "weight", 1, m.def())
			k++
		}
		if st := f.block("stickiness"); st != nil {
			m.groupStickiness(i, st, path+"forward.stickiness.")
		}
	case stack.ActionFixedResponse:
		f := a.block("fixed_response")
		fp := path + "fixed_response."
		m.setInt(fp+"status_code", i, f, "status_code", 200, "not set")
		if v := f.attr("content_type"); v != nil {
			if s, ok := m.str(i, v, "content_type", "left out"); ok {
				m.d.set(fp+"content_type", s, m.from(i, v, "fixed_response.content_type"))
			}
		}
		if v := f.attr("message_body"); v != nil {
			if s, ok := m.str(i, v, "message_body", "left out"); ok {
				m.d.set(fp+"message_body", s, m.from(i, v, "fixed_response.message_body"))
			}
		}
	case stack.ActionRedirect:
		r := a.block("redirect")
		rp := path + "redirect."
		for _, k := range []struct{ attr, def string }{{"protocol", "#{protocol}"}, {"host", "#{host}"}, {"port", "#{port}"},
			{"path", "/#{path}"}, {"query", "#{query}"}, {"status_code", ""}} {
			if v := r.attr(k.attr); v != nil {
				if s, ok := m.str(i, v, k.attr, "taking "+k.def); ok {
					m.d.set(rp+k.attr, s, m.from(i, v, "redirect."+k.attr))
				}
			}
		}
	default:
		m.note(a.Attrs["type"], NotModelled, i.Addr+": action", "a %s action; the lab's rules forward, answer fixed responses and redirect", typ)
	}
}

// condition maps one condition block at path (ending in ".").
func (m *mapper) condition(i *Instance, c *Body, path string) {
	for _, kind := range []string{"host_header", "http_header", "http_request_method", "path_pattern", "query_string", "source_ip"} {
		blks := c.blocks(kind)
		if len(blks) == 0 {
			continue
		}
		switch kind {
		case "http_header":
			h := blks[0].Body
			if v := h.attr("http_header_name"); v != nil {
				if s, ok := m.str(i, v, "http_header_name", "left out"); ok {
					m.d.set(path+"http_header.name", s, m.from(i, v, "condition.http_header.http_header_name"))
				}
			}
			if v := h.attr("values"); v != nil {
				m.d.set(path+"http_header.values", m.strs(i, v, "values"), m.from(i, v, "condition.http_header.values"))
			}
		case "query_string":
			for k, q := range blks {
				qp := fmt.Sprintf("%squery_string[%d].", path, k)
				for _, a := range []string{"key", "value"} {
					if v := q.Body.attr(a); v != nil {
						if s, ok := m.str(i, v, a, "left out"); ok {
							m.d.set(qp+a, s, m.from(i, v, "condition.query_string."+a))
						}
					}
				}
			}
		default:
			if v := blks[0].Body.attr("values"); v != nil {
				m.d.set(strings.TrimSuffix(path, ".")+"."+kind, m.strs(i, v, "values"), m.from(i, v, "condition."+kind+".values"))
			}
		}
	}
}

// groupStickiness maps a forward's stickiness block (CloudFormation's
// TargetGroupStickinessConfig) at path: the AWSALBTG cookie's duration.
// Terraform's enabled defaults to false; a disabled block routes by weight
// alone, as none does, and is left out.
func (m *mapper) groupStickiness(i *Instance, st *Body, path string) {
	on := false
	if v := st.attr("enabled"); v != nil {
		on, _ = m.boolean(i, v, "forward.stickiness.enabled", "false taken")
	}
	dur := st.attr("duration")
	if !on {
		return
	}
	if dur == nil {
		m.instNote(i, NotModelled, i.Addr+": forward.stickiness", "enabled without a duration (AWS requires 1 to 604800 seconds): the stickiness is left out")
		return
	}
	m.d.set(path+"enabled", true, m.from(i, st.Attrs["enabled"], "forward.stickiness.enabled"))
	if n, ok := m.integer(i, dur, "forward.stickiness.duration", "left out"); ok {
		m.d.set(path+"duration", secs(n), m.from(i, dur, "forward.stickiness.duration"))
	}
}
