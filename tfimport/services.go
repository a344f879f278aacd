package tfimport

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Several services (issue 16, item 2): a configuration whose Auto Scaling
// groups each register with a target group of their own becomes a stack
// with services:, one per (group, target group) pair, in the order the
// groups are declared (a template's order, for CloudFormation). Each
// service's target group, launch template, group, policies and schedules
// are mapped by the one-group mapping, written under services[N]
// (draft.svc); the listener's default action and its rules forward to the
// services by their target groups' names. A configuration with one such
// pair is a one-service stack, as before.

// service is one service of the configuration: an Auto Scaling group and
// the target group it registers with.
type service struct {
	g, tg *Instance
	name  string
	from  string // where the name comes from
}

// servicePairs pairs each group with the first target group it registers
// with that no group declared before it has taken.
func (m *mapper) servicePairs(groups []*Instance) []service {
	var out []service
	taken := map[*Instance]bool{}
	for _, g := range groups {
		for _, tg := range m.groupTargets(g) {
			if !taken[tg] {
				taken[tg] = true
				out = append(out, service{g: g, tg: tg})
				break
			}
		}
	}
	return out
}

var notName = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// serviceName names a service: its target group's name (the exporter's
// services[N].name), else its group's, else the target group's resource
// name made a valid one.
func (m *mapper) serviceName(sv *service) {
	for _, i := range []*Instance{sv.tg, sv.g} {
		if v := i.Body.Attrs["name"]; v != nil && isStr(v.V) && !hasMarker(v.V) && stackName.MatchString(v.V.AsString()) {
			sv.name, sv.from = v.V.AsString(), m.from(i, v, "name")
			return
		}
	}
	n := sv.tg.Addr[strings.LastIndex(sv.tg.Addr, ".")+1:]
	n = strings.Trim(notName.ReplaceAllString(n, "-"), "-")
	if len(n) > 32 {
		n = strings.Trim(n[:32], "-")
	}
	if n == "" {
		n = "service"
	}
	sv.name, sv.from = n, sv.tg.Addr+": not named (name), its resource name"
}

// mapServices maps a configuration of several services.
func (m *mapper) mapServices(svcs []service, lbs []*Instance) {
	m.tgNames = map[*Instance]string{}
	seen := map[string]bool{}
	for i := range svcs {
		sv := &svcs[i]
		m.serviceName(sv)
		if seen[sv.name] { // two target groups of one name: the later one by its resource name
			sv.name = fmt.Sprintf("%s-%d", sv.name, i)
			sv.from += fmt.Sprintf(" (another target group is named so: -%d added)", i)
		}
		seen[sv.name] = true
		m.tgNames[sv.tg] = sv.name
		m.used[sv.g], m.used[sv.tg] = true, true
		sv.g.Body.attr("target_group_arns")
	}
	inService := map[*Instance]bool{}
	for _, sv := range svcs {
		inService[sv.g] = true
	}
	for _, g := range m.byType["aws_autoscaling_group"] {
		if !inService[g] {
			m.instNote(g, NotModelled, g.Addr, "an Auto Scaling group with no target group of its own; the lab's services are the groups that register with one (%s)", svcs[0].g.Addr)
		}
	}
	for _, sv := range svcs {
		for _, other := range m.groupTargets(sv.g) {
			if other != sv.tg {
				m.instNote(other, NotModelled, sv.g.Addr+": target groups", "the group registers with %s too; the lab registers a service's group with its one target group (%s)", other.Addr, sv.tg.Addr)
			}
		}
	}
	var listener *Instance
	for _, l := range m.byType["aws_lb_listener"] {
		for _, arn := range append(m.forwards(l), m.ruleForwards(l)...) {
			if t := m.ref(arn, "aws_lb_target_group"); t != nil && m.tgNames[t] != "" && listener == nil {
				listener = l
			}
		}
	}
	lb := m.listenerLB(listener, lbs)
	if listener == nil {
		m.instNote(svcs[0].tg, Inexact, svcs[0].tg.Addr, "no listener forwards to the services' target groups, nor a rule of one; the lab's listener takes port 80, HTTP, and forwards to %s", svcs[0].name)
	}
	m.used[lb] = true
	for _, other := range lbs {
		if other != lb {
			m.instNote(other, NotModelled, other.Addr, "a second load balancer; the lab rehearses one (%s)", lb.Addr)
		}
	}
	for _, l := range m.byType["aws_lb_listener"] {
		if l != listener {
			m.instNote(l, NotModelled, l.Addr, "a second listener (a redirect, another port); the lab's load balancer has one listener (%s)", addrOr(listener))
		}
	}

	m.name(lb, svcs[0].g)
	m.zones(svcs[0].g, lb)
	m.loadBalancer(lb, listener)
	m.mapRules(listener, nil, "")
	m.schedZero = m.firstStart(svcs)
	tied := map[*Instance]bool{}
	var groups []*Instance
	for i, sv := range svcs {
		m.d.set(fmt.Sprintf("services[%d].name", i), sv.name, sv.from)
		sv.tg.Body.mark("name")
		sv.g.Body.mark("name")
		if i > 0 {
			m.sameZones(sv.g, svcs[0].g)
		}
		m.d.svc = fmt.Sprintf("services[%d].", i)
		m.targetGroup(sv.tg)
		m.launchTemplate(sv.g, sv.tg)
		m.group(sv.g)
		maps.Copy(tied, m.policies(sv.g))
		m.schedules(sv.g)
		m.d.svc = ""
		groups = append(groups, sv.g)
	}
	m.strays(tied, groups...)
	m.database()
	m.unmodelled()
}

// forwardName is the stack's name for the target group arn names: the
// service's on a stack with services, tgName on a one-service stack (where
// only the rehearsed target group is forwarded to).
func (m *mapper) forwardName(arn, tgName string) string {
	if m.tgNames == nil {
		return tgName
	}
	if t := m.ref(arn, "aws_lb_target_group"); t != nil {
		return m.tgNames[t]
	}
	return ""
}

// sameZones notes a service's group whose subnets are in other zones than
// the first service's: the stack has one list of zones, the first group's.
func (m *mapper) sameZones(g, first *Instance) {
	zonesOf := func(i *Instance) []string {
		var zs []string
		v := i.Body.attr("vpc_zone_identifier")
		if v == nil || !v.V.IsWhollyKnown() || v.V.IsNull() || !v.V.CanIterateElements() {
			return nil
		}
		for it := v.V.ElementIterator(); it.Next(); {
			if _, e := it.Element(); isStr(e) {
				if sn := m.ref(e.AsString(), "aws_subnet"); sn != nil {
					if z := sn.Body.Attrs["availability_zone"]; z != nil && isStr(z.V) && !slices.Contains(zs, z.V.AsString()) {
						zs = append(zs, z.V.AsString())
					}
				}
			}
		}
		return zs
	}
	got, want := zonesOf(g), zonesOf(first)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		m.instNote(g, Inexact, g.Addr+": vpc_zone_identifier", "its subnets are in %v, the first service's group's (%s) in %v; the lab's stack has one list of zones, the first group's", got, first.Addr, want)
	}
}

// firstStart is the hour of the earliest start_time of any service's
// scheduled actions: a lab run has one time zero for all of them.
func (m *mapper) firstStart(svcs []service) time.Time {
	var first time.Time
	for _, s := range m.byType["aws_autoscaling_schedule"] {
		if !slices.ContainsFunc(svcs, func(sv service) bool { return m.forGroup(s, sv.g) }) {
			continue
		}
		v := s.Body.Attrs["start_time"]
		if v == nil || !isStr(v.V) {
			continue
		}
		if t, err := time.Parse(time.RFC3339, v.V.AsString()); err == nil && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first.Truncate(time.Hour)
}
