package tfimport

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// Where a value comes from when the configuration does not set it.
const (
	providerDefault = "not set: the AWS provider's default"
	awsDefault      = "not set: AWS's default"
	labDefault      = "lab-only, not in the configuration: the lab's default"
)

// DefaultBootTime is the boot time an imported stack takes: a Terraform
// configuration cannot say how long the workload takes to serve. It is the
// built-in stacks' figure for Amazon Linux 2023 starting a container at boot.
const DefaultBootTime = 40 * time.Second

// Result is an imported stack and what the import says about it.
type Result struct {
	Stack      *stack.Stack
	YAML       []byte // the stack file, a comment per field saying where it came from
	Notes      []Note // what is not rehearsed, inexact, or not known offline
	Provenance []Provenance
}

// Terraform imports the Terraform configuration in dir.
func Terraform(dir string, o Options) (*Result, error) {
	c, err := Evaluate(dir, o)
	if err != nil {
		return nil, err
	}
	m := newMapper(dir, c.Instances)
	m.notes = append(m.notes, c.Notes...)
	m.region = c.Region
	m.moduleZones = c.ModuleZones
	return m.result("terraform", dir)
}

// result maps the instances and parses the stack they make.
func (m *mapper) result(format, source string) (*Result, error) {
	m.mapAll()
	if len(m.errs) > 0 {
		sortErrors(m.errs)
		return nil, &Errors{List: m.errs}
	}
	head := fmt.Sprintf("Imported by `lab import %s` from %s.\nEach field's comment says where its value came from; `lab import` lists what is not rehearsed.", format, source)
	data, err := m.d.bytes(head)
	if err != nil {
		return nil, fmt.Errorf("import: write the stack: %w", err)
	}
	file := source + " (imported)"
	s, err := stack.Parse(file, data)
	if err != nil {
		if se, ok := err.(*stack.Errors); ok {
			for i, e := range se.List {
				for _, p := range m.d.prov {
					if p.Field == e.Field {
						se.List[i].Msg += " (from " + p.From + ")"
					}
				}
			}
		}
		return nil, fmt.Errorf("import: the stack made from %s is not valid:\n%w", source, err)
	}
	sort.SliceStable(m.notes, func(i, j int) bool {
		a, b := m.notes[i].Pos, m.notes[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	var notes []Note // each once
	seen := map[string]bool{}
	for _, n := range m.notes {
		if !seen[n.String()] {
			seen[n.String()] = true
			notes = append(notes, n)
		}
	}
	return &Result{Stack: s, YAML: data, Notes: notes, Provenance: m.d.prov}, nil
}

func (m *mapper) fail(format string, args ...any) {
	m.errs = append(m.errs, Error{Pos: Pos{File: m.dir}, Msg: fmt.Sprintf(format, args...)})
}

const rehearses = "the lab rehearses an Application Load Balancer (aws_lb, a listener, a target group) in front of an Auto Scaling group (aws_autoscaling_group with a launch template)"

// mapAll picks the tier's resources and maps each onto the stack.
func (m *mapper) mapAll() {
	groups := m.byType["aws_autoscaling_group"]
	lbs := m.byType["aws_lb"]
	if len(lbs) == 0 {
		m.fail("no load balancer: the configuration declares no aws_lb (or aws_alb); %s", rehearses)
	}
	if len(groups) == 0 {
		m.fail("no Auto Scaling group: the configuration declares no aws_autoscaling_group; %s", rehearses)
	}
	if len(m.errs) > 0 {
		return
	}
	if svcs := m.servicePairs(groups); len(svcs) > 1 {
		m.mapServices(svcs, lbs)
		return
	}
	g := groups[0]
	for _, cand := range groups {
		if len(m.groupTargets(cand)) > 0 {
			g = cand
			break
		}
	}
	for _, other := range groups {
		if other != g {
			m.instNote(other, NotModelled, other.Addr, "a second Auto Scaling group; the lab rehearses one (%s)", g.Addr)
		}
	}
	m.used[g] = true
	g.Body.attr("target_group_arns")
	tgs := m.groupTargets(g)
	var tg *Instance
	if len(tgs) > 0 {
		tg = tgs[0]
		for _, other := range tgs[1:] {
			m.instNote(other, NotModelled, g.Addr+": target groups", "the group registers with %s too; the lab registers a group with one target group (%s); a stack's services each have their own group", other.Addr, tg.Addr)
		}
	}
	var listener *Instance
	for _, l := range m.byType["aws_lb_listener"] {
		for _, arn := range append(m.forwards(l), m.ruleForwards(l)...) {
			t := m.ref(arn, "aws_lb_target_group")
			if t == nil {
				continue
			}
			if tg == nil {
				tg = t
				m.instNote(g, Inexact, g.Addr, "the group registers with no target group (target_group_arns, aws_autoscaling_attachment); the lab registers it with %s, which %s forwards to", t.Addr, l.Addr)
			}
			if t == tg && listener == nil {
				listener = l
			}
		}
	}
	if tg == nil {
		m.fail("no target group: %s registers with none and no listener forwards to one; %s", g.Addr, rehearses)
		return
	}
	m.used[tg] = true
	lb := m.listenerLB(listener, lbs)
	if listener == nil {
		m.instNote(tg, Inexact, tg.Addr, "no listener forwards to it, nor a rule of one; the lab's listener takes port 80, HTTP")
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

	m.name(lb, g)
	m.zones(g, lb)
	m.loadBalancer(lb, listener)
	m.mapRules(listener, tg, m.d.name())
	m.targetGroup(tg)
	m.launchTemplate(g, tg)
	m.group(g)
	m.policies(g)
	m.schedules(g)
	m.database()
	m.unmodelled()
}

func addrOr(i *Instance) string {
	if i == nil {
		return "none"
	}
	return i.Addr
}

// groupTargets are the target groups a group registers with: its
// target_group_arns and any aws_autoscaling_attachment naming it.
func (m *mapper) groupTargets(g *Instance) []*Instance {
	var out []*Instance
	seen := map[*Instance]bool{}
	add := func(arn string) {
		if t := m.ref(arn, "aws_lb_target_group"); t != nil && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if v := g.Body.Attrs["target_group_arns"]; v != nil && v.V.IsWhollyKnown() && !v.V.IsNull() && v.V.CanIterateElements() {
		for it := v.V.ElementIterator(); it.Next(); {
			if _, e := it.Element(); isStr(e) {
				add(e.AsString())
			}
		}
	}
	// traffic_source blocks (the group's own, or aws_autoscaling_traffic_source_attachment)
	sources := func(b *Body) {
		for _, blk := range b.Blocks {
			if blk.Type != "traffic_source" {
				continue
			}
			if v := blk.Body.Attrs["identifier"]; v != nil && isStr(v.V) {
				add(v.V.AsString())
				b.mark("traffic_source")
				blk.Body.mark("identifier")
				blk.Body.mark("type")
			}
		}
	}
	sources(g.Body)
	for _, a := range m.byType["aws_autoscaling_traffic_source_attachment"] {
		if m.forGroup(a, g) {
			m.used[a] = true
			a.Body.mark("autoscaling_group_name")
			sources(a.Body)
		}
	}
	for _, a := range m.byType["aws_autoscaling_attachment"] {
		if m.forGroup(a, g) {
			for _, k := range []string{"lb_target_group_arn", "alb_target_group_arn"} {
				if v := a.Body.Attrs[k]; v != nil && isStr(v.V) {
					add(v.V.AsString())
					m.used[a] = true
					a.Body.mark(k)
					a.Body.mark("autoscaling_group_name")
				}
			}
		}
	}
	return out
}

// forGroup reports whether an instance's autoscaling_group_name names g.
func (m *mapper) forGroup(i, g *Instance) bool {
	v := i.Body.Attrs["autoscaling_group_name"]
	if v == nil || !isStr(v.V) {
		return false
	}
	return m.ref(v.V.AsString(), "aws_autoscaling_group") == g
}

// forwards are the target group ARNs a listener's default actions forward to.
func (m *mapper) forwards(l *Instance) []string { return actionForwards(l.Body, "default_action") }

var stackName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

// name is the stack's name: the load balancer's, else the group's, else
// the directory's.
func (m *mapper) name(lb, g *Instance) {
	for _, i := range []*Instance{lb, g} {
		if v := i.Body.attr("name"); v != nil && isStr(v.V) && !hasMarker(v.V) {
			if n := v.V.AsString(); stackName.MatchString(n) {
				m.d.set("name", n, m.from(i, v, "name"))
				return
			}
			m.note(v, Inexact, i.Addr+": name", "%q is not a stack name (1-32 letters, digits and hyphens)", v.V.AsString())
		}
	}
	n := strings.Trim(regexp.MustCompile(`[^A-Za-z0-9-]+`).ReplaceAllString(filepath.Base(m.dir), "-"), "-")
	if len(n) > 32 {
		n = strings.Trim(n[:32], "-")
	}
	if n == "" {
		n = "imported"
	}
	m.d.set("name", n, "not named in the configuration: the directory's name")
}

// zones are the group's subnets' zones, in the order the group lists them.
func (m *mapper) zones(g, lb *Instance) {
	zonesOf := func(i *Instance, attr string) ([]string, string) {
		v := i.Body.attr(attr)
		var zs []string
		for _, id := range m.strs(i, v, attr) {
			sn := m.ref(id, "aws_subnet")
			if sn == nil {
				m.note(v, Offline, i.Addr+": "+attr, "subnet %q is not declared in the configuration; its zone is not known offline", id)
				continue
			}
			m.zoneSubnets[sn] = true
			if pub := sn.Body.Attrs["map_public_ip_on_launch"]; i == g && pub != nil && pub.V.IsKnown() && pub.V.Type() == cty.Bool && pub.V.True() {
				m.note(pub, NotModelled, sn.Addr+": map_public_ip_on_launch", "the group's instances are in a public subnet: on AWS they get public addresses; in the lab they are reached only through the load balancer")
			}
			z := sn.Body.attr("availability_zone")
			if zn, ok := m.str(sn, z, "availability_zone", "the subnet's zone is left out"); ok && !contains(zs, zn) {
				zs = append(zs, zn)
			}
		}
		if v == nil {
			return zs, ""
		}
		return zs, m.from(i, v, attr+" → aws_subnet availability_zone")
	}
	zs, from := zonesOf(g, "vpc_zone_identifier")
	if len(zs) == 0 {
		if v := g.Body.attr("availability_zones"); v != nil {
			zs, from = m.strs(g, v, "availability_zones"), m.from(g, v, "availability_zones")
		}
	}
	lbZones, _ := zonesOf(lb, "subnets")
	for _, blk := range lb.Body.blocks("subnet_mapping") {
		if v := blk.Body.attr("subnet_id"); v != nil {
			if s, ok := m.str(lb, v, "subnet_mapping.subnet_id", "left out"); ok {
				if sn := m.ref(s, "aws_subnet"); sn != nil {
					if z, ok := m.str(sn, sn.Body.attr("availability_zone"), "availability_zone", "left out"); ok {
						lbZones = append(lbZones, z)
					}
				}
			}
		}
	}
	if len(zs) == 0 && len(lbZones) > 0 {
		zs, from = lbZones, "the load balancer's subnets' zones ("+lb.Addr+"): the group's are not known offline"
	}
	if len(zs) == 0 && len(m.moduleZones) > 0 {
		mz := m.moduleZones[0]
		zs = mz.Zones
		from = m.where(&Val{Rng: mz.Rng}) + " " + mz.Module + " azs: the group's subnets come from that module, not known offline"
		m.notes = append(m.notes, Note{Pos: posOf(mz.Rng), Kind: Inexact, Subject: g.Addr + ": vpc_zone_identifier",
			Msg: fmt.Sprintf("the group's subnets are not known offline; the zones %s are taken from %s's azs", strings.Join(zs, ", "), mz.Module)})
	}
	if len(zs) == 0 {
		zs = (&evaluator{region: m.region}).zoneNames()
		if len(zs) > 3 {
			zs = zs[:3]
		}
		from = "the group's subnets are not known offline: the first three zones of " + m.region
		m.instNote(g, Offline, g.Addr+": vpc_zone_identifier", "no zone is known offline; %s taken", strings.Join(zs, ", "))
	}
	for _, z := range lbZones {
		if !contains(zs, z) {
			m.instNote(lb, Inexact, lb.Addr+": subnets", "the load balancer has a subnet in %s, where the group has none; the lab puts a load balancer node in each of the group's zones (%s)", z, strings.Join(zs, ", "))
		}
	}
	for _, z := range zs {
		if len(lbZones) > 0 && !contains(lbZones, z) {
			m.instNote(lb, Inexact, lb.Addr+": subnets", "the load balancer has no subnet in %s, where the group has instances; the lab puts a load balancer node in each of the group's zones", z)
		}
	}
	m.d.set("availability_zones", zs, from)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (m *mapper) loadBalancer(lb, l *Instance) {
	if t := lb.Body.attr("load_balancer_type"); t != nil {
		if s, ok := m.str(lb, t, "load_balancer_type", "application taken"); ok && s != "application" {
			m.note(t, Inexact, lb.Addr+": load_balancer_type", "%s: the lab rehearses an Application Load Balancer; its behaviour is taken", s)
		}
	}
	m.setSecs("load_balancer.idle_timeout", lb, lb.Body, "idle_timeout", 60, m.def())
	m.setStr("load_balancer.desync_mitigation_mode", lb, lb.Body, "desync_mitigation_mode", "defensive", m.def())
	drop, from := false, m.def()
	if v := lb.Body.attr("drop_invalid_header_fields"); v != nil {
		if on, ok := m.boolean(lb, v, "drop_invalid_header_fields", "false taken"); ok {
			drop, from = on, m.from(lb, v, "drop_invalid_header_fields")
		}
	}
	m.d.set("load_balancer.drop_invalid_header_fields", drop, from)
	if l == nil {
		m.d.set("load_balancer.listener.port", 80, "no listener forwards to the target group: AWS's default")
		m.d.set("load_balancer.listener.protocol", "HTTP", "no listener forwards to the target group: AWS's default")
		return
	}
	m.setInt("load_balancer.listener.port", l, l.Body, "port", 80, m.def())
	m.protocol("load_balancer.listener.protocol", l, l.Body, "protocol")
	for _, a := range l.Body.blocks("default_action") {
		if t := a.Body.attr("type"); t != nil {
			if s, ok := m.str(l, t, "default_action.type", ""); ok && (s != "forward" || m.tgNames != nil) {
				// a forward is the stack's default unless there are
				// several target groups to choose from
				m.action(l, a.Body, "load_balancer.listener.default_action.", m.d.name())
				continue
			}
		}
		a.Body.attr("target_group_arn")
		for _, f := range a.Body.blocks("forward") {
			for _, tg := range f.Body.blocks("target_group") {
				tg.Body.attr("arn")
				if w := tg.Body.attr("weight"); w != nil {
					m.note(w, Inexact, l.Addr+": forward weights", "a weighted forward, but only one target group has an Auto Scaling group (%s): it takes all the traffic", m.d.name())
				}
			}
			if st := f.Body.block("stickiness"); st != nil {
				st.attr("duration")
				if v := st.attr("enabled"); v != nil && v.V.IsKnown() && v.V.Type() == cty.Bool && v.V.True() {
					m.notes = append(m.notes, Note{Pos: posOf(st.Rng), Kind: Inexact, Subject: l.Addr + ": forward stickiness", Msg: fmt.Sprintf("target group stickiness (AWSALBTG), but only one target group has an Auto Scaling group (%s): there is no other group to keep a client from", m.d.name())})
				}
			}
		}
	}
}

// protocol maps HTTP; HTTPS is noted, the lab does not terminate TLS.
// def is where a value not set comes from: the Terraform provider's
// default, or AWS's own for a CloudFormation template.
func (m *mapper) def() string {
	if m.cfn {
		return awsDefault
	}
	return providerDefault
}

func (m *mapper) protocol(field string, i *Instance, b *Body, attr string) {
	v := b.attr(attr)
	s, ok := m.str(i, v, attr, "HTTP taken")
	switch {
	case !ok:
		m.d.set(field, "HTTP", m.def())
	case s == "HTTPS":
		m.note(v, Inexact, i.Addr+": "+attr, "HTTPS: the lab does not terminate TLS; HTTP taken (certificates and TLS policies are not rehearsed)")
		m.d.set(field, "HTTP", m.from(i, v, attr)+" (HTTPS taken as HTTP)")
	default:
		m.d.set(field, s, m.from(i, v, attr))
	}
}

func (m *mapper) targetGroup(tg *Instance) {
	b := tg.Body
	if t := b.attr("target_type"); t != nil {
		if s, ok := m.str(tg, t, "target_type", ""); ok && s != "instance" {
			m.note(t, Inexact, tg.Addr+": target_type", "%s: the lab's targets are the group's instances", s)
		}
	}
	m.setInt("target_group.port", tg, b, "port", 80, "not set: 80")
	m.protocol("target_group.protocol", tg, b, "protocol")
	m.setStr("target_group.load_balancing_algorithm_type", tg, b, "load_balancing_algorithm_type", "round_robin", m.def())
	m.setStr("target_group.load_balancing_cross_zone_enabled", tg, b, "load_balancing_cross_zone_enabled", stack.CrossZoneUseLBConf, m.def())
	m.setSecs("target_group.deregistration_delay", tg, b, "deregistration_delay", 300, m.def())
	m.setSecs("target_group.slow_start", tg, b, "slow_start", 0, m.def())
	m.setStr("target_group.load_balancing_anomaly_mitigation", tg, b, "load_balancing_anomaly_mitigation", "off", m.def())
	hc := b.block("health_check")
	if hc == nil {
		hc = &Body{Attrs: map[string]*Val{}}
	}
	if v := hc.attr("enabled"); v != nil {
		if on, ok := m.boolean(tg, v, "health_check.enabled", ""); ok && !on {
			m.note(v, Inexact, tg.Addr+": health_check.enabled", "false: an instance target group always checks its targets; the checks below are rehearsed")
		}
	}
	const h = "target_group.health_check."
	m.setStr(h+"path", tg, hc, "path", "/", m.def())
	m.setStr(h+"port", tg, hc, "port", "traffic-port", m.def())
	m.protocol(h+"protocol", tg, hc, "protocol")
	m.setSecs(h+"interval", tg, hc, "interval", 30, m.def())
	m.setSecs(h+"timeout", tg, hc, "timeout", 5, awsDefault+" for HTTP")
	if m.cfn {
		m.setInt(h+"healthy_threshold", tg, hc, "healthy_threshold", 5, awsDefault)
		m.setInt(h+"unhealthy_threshold", tg, hc, "unhealthy_threshold", 2, awsDefault)
	} else {
		m.setInt(h+"healthy_threshold", tg, hc, "healthy_threshold", 3, providerDefault+" (AWS's own is 5)")
		m.setInt(h+"unhealthy_threshold", tg, hc, "unhealthy_threshold", 3, providerDefault+" (AWS's own is 2)")
	}
	m.setStr(h+"matcher", tg, hc, "matcher", "200", m.def())
	tgh := b.block("target_group_health")
	for _, a := range []string{"dns_failover", "unhealthy_state_routing"} {
		blk := tgh.block(a)
		if tgh == nil {
			blk = nil
		}
		for _, k := range []string{"count", "percentage"} {
			field := "target_group.target_group_health." + a + ".minimum_healthy_targets_" + k
			def := map[string]string{"count": "1", "percentage": "off"}[k]
			v := blk.attr("minimum_healthy_targets_" + k)
			s, ok := m.str(tg, v, "target_group_health."+a+".minimum_healthy_targets_"+k, "taking "+def)
			from := ""
			if ok {
				from = m.from(tg, v, "target_group_health."+a+".minimum_healthy_targets_"+k)
			} else {
				s, from = def, awsDefault
			}
			if n, err := strconv.Atoi(s); err == nil {
				m.d.set(field, n, from)
			} else {
				m.d.set(field, s, from)
			}
		}
	}
	if st := b.block("stickiness"); st != nil {
		en := st.attr("enabled")
		on := true
		if en != nil {
			on, _ = m.boolean(tg, en, "stickiness.enabled", "")
		}
		if on {
			m.stickiness(tg, st)
		}
		for _, k := range []string{"type", "cookie_duration", "cookie_name", "lb_cookie.duration_seconds", "app_cookie.duration_seconds", "app_cookie.cookie_name"} {
			st.attr(k)
		}
	}
}

// stickiness maps an enabled stickiness block (Terraform's, or the one a
// template's stickiness.* attributes make) to target_group.stickiness.
func (m *mapper) stickiness(tg *Instance, st *Body) {
	const path = "target_group.stickiness."
	m.d.set(path+"enabled", true, m.fromOr(tg, st, "enabled", "the block is there: enabled"))
	typ, _ := m.setStr(path+"type", tg, st, "type", stack.StickinessLBCookie, m.def())
	dur, name := "cookie_duration", "cookie_name"
	if m.cfn { // stickiness.lb_cookie.duration_seconds, stickiness.app_cookie.*
		dur, name = strings.TrimSuffix(typ, "_cookie")+"_cookie.duration_seconds", "app_cookie.cookie_name"
	}
	m.setSecs(path+"cookie_duration", tg, st, dur, int(stack.DefaultStickinessDuration/time.Second), m.def())
	if typ == stack.StickinessAppCookie {
		if v := st.attr(name); v != nil {
			if s, ok := m.str(tg, v, name, "not set"); ok {
				m.d.set(path+"cookie_name", s, m.from(tg, v, st.prefix+name))
			}
		}
	}
}

// launchTemplate maps the group's launch template (or launch configuration).
func (m *mapper) launchTemplate(g, tg *Instance) {
	var lt *Instance
	spec := g.Body.block("launch_template")
	if spec != nil {
		for _, k := range []string{"id", "name"} {
			if v := spec.attr(k); v != nil && isStr(v.V) {
				lt = m.ref(v.V.AsString(), "aws_launch_template")
			}
		}
	}
	if mip := g.Body.block("mixed_instances_policy"); mip != nil {
		if l := mip.block("launch_template"); l != nil {
			if s := l.block("launch_template_specification"); s != nil {
				spec = s
				for _, k := range []string{"launch_template_id", "launch_template_name"} {
					if v := s.attr(k); v != nil && isStr(v.V) {
						lt = m.ref(v.V.AsString(), "aws_launch_template")
					}
				}
			}
			for _, o := range l.blocks("override") {
				m.notes = append(m.notes, Note{Pos: posOf(o.Rng), Kind: Inexact, Subject: g.Addr + ": mixed_instances_policy override", Msg: "instance type overrides are not rehearsed; the launch template's instance type is"})
			}
		}
		mip.block("instances_distribution")
	}
	if v := g.Body.attr("launch_configuration"); v != nil && isStr(v.V) {
		lt = m.ref(v.V.AsString(), "aws_launch_configuration")
	}
	if spec != nil {
		for _, k := range []string{"version"} {
			if v := spec.attr(k); v != nil {
				if s, ok := m.str(g, v, "launch_template.version", ""); ok && s != "$Latest" && s != "$Default" && s != "1" {
					m.note(v, Inexact, g.Addr+": launch_template.version", "%s: the lab's group starts on the template as configured (version 1)", s)
				}
			}
		}
	}
	if lt == nil {
		m.instNote(g, Inexact, g.Addr+": launch_template", "no launch template of the configuration is named; t3.micro, basic monitoring and the lab's SimplyDone taken")
		m.d.set("launch_template.instance_type", "t3.micro", awsDefault+" (no launch template)")
		m.d.set("launch_template.command", []string{"simplydone"}, "no launch template: the lab's SimplyDone")
		m.d.set("launch_template.boot_time", DefaultBootTime, labDefault)
		return
	}
	m.used[lt] = true
	b := lt.Body
	typ := "t3.micro"
	v := b.attr("instance_type")
	from := awsDefault
	if s, ok := m.str(lt, v, "instance_type", "t3.micro taken"); ok {
		from = m.from(lt, v, "instance_type")
		if _, known := az.LookupInstanceType(s); known {
			typ = s
		} else {
			m.note(v, Inexact, lt.Addr+": instance_type", "%s is not a type the lab sizes (%s); t3.micro taken", s, strings.Join(az.InstanceTypeNames(), ", "))
			from += " (" + s + " taken as t3.micro)"
		}
	}
	m.d.set("launch_template.instance_type", typ, from)
	if canonical(lt.Type) == "aws_launch_configuration" {
		if v := b.attr("enable_monitoring"); v != nil {
			on, _ := m.boolean(lt, v, "enable_monitoring", "")
			m.d.set("launch_template.monitoring", map[bool]string{true: stack.MonitoringDetailed, false: stack.MonitoringBasic}[on], m.from(lt, v, "enable_monitoring"))
		} else {
			m.d.set("launch_template.monitoring", stack.MonitoringDetailed, providerDefault+" for a launch configuration (detailed)")
		}
	} else if mon := b.block("monitoring"); mon != nil && mon.attr("enabled") != nil {
		v := mon.attr("enabled")
		on, _ := m.boolean(lt, v, "monitoring.enabled", "basic taken")
		m.d.set("launch_template.monitoring", map[bool]string{true: stack.MonitoringDetailed, false: stack.MonitoringBasic}[on], m.from(lt, v, "monitoring.enabled"))
	} else {
		m.d.set("launch_template.monitoring", stack.MonitoringBasic, awsDefault+" for a launch template (basic: 5-minute CPU)")
	}
	m.userData(lt, tg)
	m.d.set("launch_template.boot_time", DefaultBootTime, labDefault+" (Amazon Linux 2023 starting a container at boot, as the built-in stacks)")
}

// userData reads the container the user data runs: docker run's image,
// --publish and --env.
func (m *mapper) userData(lt, tg *Instance) {
	v := lt.Body.attr("user_data")
	simply := func(why string) {
		m.d.set("launch_template.command", []string{"simplydone"}, why+": the lab's SimplyDone")
	}
	if v == nil {
		simply("no user data")
		m.instNote(lt, Inexact, lt.Addr+": user_data", "none: the lab runs its own SimplyDone (command: [simplydone])")
		return
	}
	if !isStr(v.V) {
		m.note(v, Offline, lt.Addr+": user_data", "not known offline; the lab runs its own SimplyDone (command: [simplydone])")
		simply("user data not known offline")
		return
	}
	text := v.V.AsString()
	text = decodeUserData(text)
	run := dockerRun(text)
	if run == nil {
		m.note(v, Inexact, lt.Addr+": user_data", "runs no container the lab can name (no docker run); the lab runs its own SimplyDone (command: [simplydone])")
		simply("user data runs no container")
		return
	}
	from := m.from(lt, v, "user_data (docker run)")
	switch {
	case strings.Contains(run.image, "$"):
		m.note(v, Offline, lt.Addr+": user_data", "the container image is a shell variable (%s), set when the instance boots; the lab runs its own SimplyDone (command: [simplydone])", run.image)
		simply("the image in the user data is a shell variable")
	case run.image == "" || strings.Contains(run.image, unknownMarker):
		m.note(v, Offline, lt.Addr+": user_data", "the container image is not known offline; the lab runs its own SimplyDone (command: [simplydone])")
		simply("the image in the user data is not known offline")
	default:
		m.d.set("launch_template.image", run.image, from)
	}
	tgPort := -1
	if p := tg.Body.Attrs["port"]; p != nil {
		if n, ok := m.integer(tg, p, "port", ""); ok {
			tgPort = n
		}
	}
	for _, pub := range run.publish {
		host, ctr, _ := strings.Cut(pub, ":")
		if i := strings.LastIndex(pub, ":"); i >= 0 {
			host, ctr = pub[:i], pub[i+1:]
			if j := strings.LastIndex(host, ":"); j >= 0 {
				host = host[j+1:]
			}
		}
		hp, err1 := strconv.Atoi(host)
		cp, err2 := strconv.Atoi(strings.TrimSuffix(ctr, "/tcp"))
		if err1 == nil && err2 == nil && hp == tgPort {
			m.d.set("launch_template.port", cp, from+" --publish")
		}
	}
	if len(run.env) > 0 {
		env := map[string]string{}
		for _, kv := range run.env {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || strings.Contains(val, unknownMarker) {
				m.note(v, Offline, lt.Addr+": user_data", "--env %s: the value is not known offline; left out", k)
				continue
			}
			env[k] = val
		}
		if len(env) > 0 {
			m.d.set("launch_template.environment", env, from+" --env")
		}
	}
}

// listenerLB marks the listener used and returns the load balancer it
// belongs to; the first of lbs when there is no listener or it names none.
func (m *mapper) listenerLB(listener *Instance, lbs []*Instance) *Instance {
	if listener == nil {
		return lbs[0]
	}
	m.used[listener] = true
	if v := listener.Body.attr("load_balancer_arn"); v != nil && isStr(v.V) {
		if l := m.ref(v.V.AsString(), "aws_lb"); l != nil {
			return l
		}
	}
	return lbs[0]
}
