package tfimport

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/simplydone/lab/stack"
)

// group maps the Auto Scaling group's sizes and behaviour.
func (m *mapper) group(g *Instance) {
	b := g.Body
	const p = "auto_scaling_group."
	min, _ := m.setInt(p+"min_size", g, b, "min_size", 0, "not set (the provider requires it): 0")
	m.setInt(p+"max_size", g, b, "max_size", min, "not set (the provider requires it): min_size")
	m.setInt(p+"desired_capacity", g, b, "desired_capacity", min, awsDefault+" (min_size)")
	m.setStr(p+"health_check_type", g, b, "health_check_type", "EC2", m.def())
	if m.cfn {
		m.setSecs(p+"health_check_grace_period", g, b, "health_check_grace_period", 0, awsDefault)
	} else {
		m.setSecs(p+"health_check_grace_period", g, b, "health_check_grace_period", 300, m.def())
	}
	m.setSecs(p+"default_cooldown", g, b, "default_cooldown", 300, awsDefault)
	if v := b.attr("default_instance_warmup"); v != nil {
		if n, ok := m.integer(g, v, "default_instance_warmup", "not set"); ok {
			m.d.set(p+"default_instance_warmup", secs(n), m.from(g, v, "default_instance_warmup"))
		}
	}
	if v := b.attr("termination_policies"); v != nil && len(m.strs(g, v, "termination_policies")) > 0 {
		m.d.set(p+"termination_policies", m.strs(g, v, "termination_policies"), m.from(g, v, "termination_policies"))
	} else {
		m.d.set(p+"termination_policies", []string{"Default"}, awsDefault)
	}
	if azd := b.block("availability_zone_distribution"); azd != nil {
		m.setStr(p+"capacity_distribution_strategy", g, azd, "capacity_distribution_strategy", "balanced-best-effort", awsDefault)
	} else {
		m.d.set(p+"capacity_distribution_strategy", "balanced-best-effort", awsDefault)
	}
	if mp := b.block("instance_maintenance_policy"); mp != nil {
		m.setInt(p+"instance_maintenance_policy.min_healthy_percentage", g, mp, "min_healthy_percentage", 90, "not set: 90")
		m.setInt(p+"instance_maintenance_policy.max_healthy_percentage", g, mp, "max_healthy_percentage", 100, "not set: 100")
	}
	if wp := b.block("warm_pool"); wp != nil {
		const w = p + "warm_pool."
		m.setStr(w+"pool_state", g, wp, "pool_state", stack.PoolStateStopped, awsDefault)
		m.setInt(w+"min_size", g, wp, "min_size", 0, awsDefault)
		m.setInt(w+"max_group_prepared_capacity", g, wp, "max_group_prepared_capacity", -1, awsDefault+" (the group's max size)")
		reuse := false
		from := awsDefault
		if rp := wp.block("instance_reuse_policy"); rp != nil {
			if v := rp.attr("reuse_on_scale_in"); v != nil {
				if r, ok := m.boolean(g, v, "warm_pool.instance_reuse_policy.reuse_on_scale_in", "false taken"); ok {
					reuse, from = r, m.from(g, v, "warm_pool.instance_reuse_policy.reuse_on_scale_in")
				}
			}
		}
		m.d.set(w+"instance_reuse_policy.reuse_on_scale_in", reuse, from)
	}
	if ir := b.block("instance_refresh"); ir != nil {
		m.notes = append(m.notes, Note{Pos: posOf(ir.Rng), Kind: NotModelled, Subject: g.Addr + ": instance_refresh",
			Msg: "the stack holds no refresh settings: a scenario's deploy action starts the lab's instance refresh (with the group's instance_maintenance_policy)"})
		markAll(ir)
	}
	if v := b.attr("suspended_processes"); v != nil {
		if ps := m.strs(g, v, "suspended_processes"); len(ps) > 0 {
			m.note(v, NotModelled, g.Addr+": suspended_processes", "%s: the lab's group suspends no process; it runs them all", strings.Join(ps, ", "))
		}
	}
	// lifecycle hooks: initial_lifecycle_hook blocks, then the resources.
	n := 0
	hook := func(i *Instance, hb *Body, attrName string) {
		path := fmt.Sprintf("%slifecycle_hooks[%d].", p, n)
		n++
		m.setStr(path+"name", i, hb, attrName, fmt.Sprintf("hook-%d", n), "not set")
		m.setStr(path+"lifecycle_transition", i, hb, "lifecycle_transition", stack.LaunchingTransition, "not set")
		m.setSecs(path+"heartbeat_timeout", i, hb, "heartbeat_timeout", 3600, awsDefault)
		m.setStr(path+"default_result", i, hb, "default_result", "ABANDON", awsDefault)
		for _, k := range []string{"notification_target_arn", "role_arn", "notification_metadata"} {
			if v := hb.attr(k); v != nil {
				m.note(v, NotModelled, i.Addr+": "+k, "nothing completes a lifecycle action in the lab: each instance waits the heartbeat timeout and the default result decides")
			}
		}
	}
	for _, blk := range b.blocks("initial_lifecycle_hook") {
		hook(g, blk.Body, "name")
	}
	for _, h := range m.byType["aws_autoscaling_lifecycle_hook"] {
		if m.forGroup(h, g) {
			m.used[h] = true
			h.Body.attr("autoscaling_group_name")
			hook(h, h.Body, "name")
		}
	}
}

// policies maps the group's scaling policies, each with the alarm whose
// alarm_actions run it.
func (m *mapper) policies(g *Instance) map[*Instance]bool {
	alarms := m.byType["aws_cloudwatch_metric_alarm"]
	tied := map[*Instance]bool{}
	n := 0
	for _, pi := range m.byType["aws_autoscaling_policy"] {
		if !m.forGroup(pi, g) {
			continue
		}
		b := pi.Body
		b.attr("autoscaling_group_name")
		if v := b.attr("enabled"); v != nil {
			if on, ok := m.boolean(pi, v, "enabled", ""); ok && !on {
				m.note(v, NotModelled, pi.Addr, "disabled (enabled = false): not rehearsed")
				m.used[pi] = true
				continue
			}
		}
		typ := "SimpleScaling"
		if v := b.attr("policy_type"); v != nil {
			typ, _ = m.str(pi, v, "policy_type", "SimpleScaling taken")
		}
		if typ == "PredictiveScaling" {
			m.instNote(pi, NotModelled, pi.Addr, "predictive scaling needs two weeks of history; the lab does not forecast")
			m.used[pi] = true
			continue
		}
		var alarm *Instance
		if typ != stack.TargetTrackingScaling {
			for _, a := range alarms {
				for _, act := range m.strs(a, a.Body.Attrs["alarm_actions"], "alarm_actions") {
					if m.ref(act, "aws_autoscaling_policy") == pi {
						if alarm == nil {
							alarm = a
						} else if !tied[a] {
							m.instNote(a, NotModelled, a.Addr, "a second alarm runs %s; the lab ties one alarm to a policy (%s)", pi.Addr, alarm.Addr)
						}
						tied[a] = true
					}
				}
			}
			if alarm == nil {
				m.instNote(pi, NotModelled, pi.Addr, "no aws_cloudwatch_metric_alarm runs it (alarm_actions): not rehearsed, as nothing would run it")
				m.used[pi] = true
				continue
			}
		}
		m.used[pi] = true
		path := fmt.Sprintf("scaling_policies[%d].", n)
		n++
		m.setStr(path+"name", pi, b, "name", pi.Name, "not set: the resource's name")
		m.d.set(path+"policy_type", typ, m.fromOr(pi, b, "policy_type", m.def()))
		if v := b.attr("adjustment_type"); v != nil {
			if s, ok := m.str(pi, v, "adjustment_type", "not set"); ok {
				m.d.set(path+"adjustment_type", s, m.from(pi, v, "adjustment_type"))
			}
		}
		if typ == stack.SimpleScaling {
			m.setInt(path+"scaling_adjustment", pi, b, "scaling_adjustment", 0, "not set")
		}
		if v := b.attr("min_adjustment_magnitude"); v != nil {
			if k, ok := m.integer(pi, v, "min_adjustment_magnitude", "not set"); ok && k != 0 {
				m.d.set(path+"min_adjustment_magnitude", k, m.from(pi, v, "min_adjustment_magnitude"))
			}
		}
		for _, k := range []string{"cooldown", "estimated_instance_warmup"} {
			if v := b.attr(k); v != nil {
				if s, ok := m.integer(pi, v, k, "not set"); ok {
					m.d.set(path+k, secs(s), m.from(pi, v, k))
				}
			}
		}
		if v := b.attr("metric_aggregation_type"); v != nil {
			if s, ok := m.str(pi, v, "metric_aggregation_type", ""); ok && s != "Average" {
				m.note(v, Inexact, pi.Addr+": metric_aggregation_type", "%s: the lab aggregates the alarm's datapoints as its statistic says", s)
			}
		}
		for j, st := range b.blocks("step_adjustment") {
			sp := fmt.Sprintf("%sstep_adjustments[%d].", path, j)
			for _, k := range []string{"metric_interval_lower_bound", "metric_interval_upper_bound"} {
				if v := st.Body.attr(k); v != nil {
					if f, ok := m.num(pi, v, k, "left open"); ok {
						m.d.set(sp+k, f, m.from(pi, v, "step_adjustment."+k))
					}
				}
			}
			m.setInt(sp+"scaling_adjustment", pi, st.Body, "scaling_adjustment", 0, "not set")
		}
		if tt := b.block("target_tracking_configuration"); tt != nil {
			tp := path + "target_tracking."
			if pm := tt.block("predefined_metric_specification"); pm != nil {
				m.setStr(tp+"predefined_metric_type", pi, pm, "predefined_metric_type", "ASGAverageCPUUtilization", "not set")
				pm.attr("resource_label")
			} else {
				m.instNote(pi, NotModelled, pi.Addr+": target_tracking_configuration", "a customized metric: the lab tracks AWS's predefined metrics; ASGAverageCPUUtilization taken")
				m.d.set(tp+"predefined_metric_type", "ASGAverageCPUUtilization", "a customized metric is not rehearsed")
				tt.block("customized_metric_specification")
			}
			if v := tt.attr("target_value"); v != nil {
				if f, ok := m.num(pi, v, "target_value", "50 taken"); ok {
					m.d.set(tp+"target_value", f, m.from(pi, v, "target_tracking_configuration.target_value"))
				} else {
					m.d.set(tp+"target_value", 50.0, "not known offline: 50")
				}
			}
			if v := tt.attr("disable_scale_in"); v != nil {
				if on, ok := m.boolean(pi, v, "disable_scale_in", "false"); ok {
					m.d.set(tp+"disable_scale_in", on, m.from(pi, v, "target_tracking_configuration.disable_scale_in"))
				}
			}
		}
		if alarm != nil {
			m.alarm(path+"alarm.", alarm, g)
		}
	}
	if m.tgNames == nil { // one group: what is left is noted now; with services, once all are mapped (strays)
		m.strays(tied, g)
	}
	return tied
}

// strays notes the alarms that run no policy tied, and the policies of no
// group in groups.
func (m *mapper) strays(tied map[*Instance]bool, groups ...*Instance) {
	for _, a := range m.byType["aws_cloudwatch_metric_alarm"] {
		if !tied[a] {
			m.instNote(a, NotModelled, a.Addr, "runs no scaling policy of the group (alarm_actions): notifications and other actions are not rehearsed")
			m.used[a] = true
			markAll(a.Body)
		}
	}
	for _, pi := range m.byType["aws_autoscaling_policy"] {
		if m.used[pi] || slices.ContainsFunc(groups, func(g *Instance) bool { return m.forGroup(pi, g) }) {
			continue
		}
		why := "not a policy of the rehearsed group"
		if len(groups) > 1 {
			why = "not a policy of a service's group"
		}
		m.instNote(pi, NotModelled, pi.Addr, "%s", why)
		m.used[pi] = true
		markAll(pi.Body)
	}
}

func (m *mapper) fromOr(i *Instance, b *Body, attr, def string) string {
	if v := b.Attrs[attr]; v != nil && !v.V.IsNull() {
		return m.from(i, v, attr)
	}
	return def
}

// alarm maps the alarm that runs a simple or step policy.
func (m *mapper) alarm(path string, a *Instance, g *Instance) {
	m.used[a] = true
	b := a.Body
	b.attr("alarm_actions")
	m.setStr(path+"metric_name", a, b, "metric_name", "CPUUtilization", "not set")
	m.setStr(path+"namespace", a, b, "namespace", "AWS/EC2", "not set")
	if v := b.attr("extended_statistic"); v != nil && b.attr("statistic") == nil {
		s, _ := m.str(a, v, "extended_statistic", "")
		m.note(v, Inexact, a.Addr+": extended_statistic", "%s: the lab computes Average, Sum, Minimum, Maximum and SampleCount; Maximum taken", s)
		m.d.set(path+"statistic", "Maximum", m.from(a, v, "extended_statistic")+" (taken as Maximum)")
	} else {
		m.setStr(path+"statistic", a, b, "statistic", "Average", "not set")
	}
	m.setStr(path+"comparison_operator", a, b, "comparison_operator", "GreaterThanThreshold", "not set")
	v := b.attr("threshold")
	if f, ok := m.num(a, v, "threshold", "0 taken"); ok {
		m.d.set(path+"threshold", f, m.from(a, v, "threshold"))
	} else {
		m.d.set(path+"threshold", 0.0, "not set: 0")
	}
	m.setSecs(path+"period", a, b, "period", 60, "not set: 60")
	ev, _ := m.setInt(path+"evaluation_periods", a, b, "evaluation_periods", 1, "not set: 1")
	m.setInt(path+"datapoints_to_alarm", a, b, "datapoints_to_alarm", ev, awsDefault+" (evaluation_periods)")
	m.setStr(path+"treat_missing_data", a, b, "treat_missing_data", "missing", m.def())
	if q := b.blocks("metric_query"); len(q) > 0 {
		m.notes = append(m.notes, Note{Pos: posOf(q[0].Rng), Kind: NotModelled, Subject: a.Addr + ": metric_query", Msg: "metric math is not rehearsed; the alarm's own metric is"})
	}
	if d := b.attr("dimensions"); d != nil && d.V.IsWhollyKnown() && d.V.CanIterateElements() {
		for it := d.V.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if !isStr(k) || !isStr(val) {
				continue
			}
			switch k.AsString() {
			case "AutoScalingGroupName":
				if m.ref(val.AsString(), "aws_autoscaling_group") != g {
					m.note(d, Inexact, a.Addr+": dimensions", "AutoScalingGroupName %q is not the rehearsed group; the lab measures the rehearsed group", val.AsString())
				}
			case "LoadBalancer", "TargetGroup":
			default:
				m.note(d, Inexact, a.Addr+": dimensions", "%s: the lab measures the group (AWS/EC2) or the load balancer and its target group (AWS/ApplicationELB)", k.AsString())
			}
		}
	}
	for _, k := range []string{"ok_actions", "insufficient_data_actions"} {
		if v := b.attr(k); v != nil && v.V.IsKnown() && !v.V.IsNull() && v.V.CanIterateElements() && v.V.LengthInt() > 0 {
			m.note(v, NotModelled, a.Addr+": "+k, "notifications are not rehearsed")
		}
	}
}

// schedules maps the group's aws_autoscaling_schedule resources. A lab run
// has no calendar: each action's at is its start_time less time zero, the
// hour the earliest start_time falls in.
func (m *mapper) schedules(g *Instance) {
	type sched struct {
		i     *Instance
		start time.Time
	}
	var list []sched
	for _, s := range m.byType["aws_autoscaling_schedule"] {
		if !m.forGroup(s, g) {
			continue
		}
		m.used[s] = true
		s.Body.attr("autoscaling_group_name")
		v := s.Body.attr("start_time")
		str, ok := m.str(s, v, "start_time", "the action is not rehearsed")
		if v == nil {
			m.instNote(s, NotModelled, s.Addr, "no start_time: not rehearsed")
			continue
		}
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339, str)
		if err != nil {
			m.note(v, Inexact, s.Addr+": start_time", "%q is not an RFC 3339 time; the action is not rehearsed", str)
			continue
		}
		list = append(list, sched{s, t})
	}
	if len(list) == 0 {
		return
	}
	zero := list[0].start
	for _, s := range list {
		if s.start.Before(zero) {
			zero = s.start
		}
	}
	zero = zero.Truncate(time.Hour)
	if !m.schedZero.IsZero() { // several services: one time zero for every group's schedules
		zero = m.schedZero
	}
	m.instNote(list[0].i, Inexact, "scheduled actions", "a lab run has no calendar: its time zero is taken as %s (the hour of the earliest start_time), and each action's at is its start_time less that", zero.Format(time.RFC3339))
	for n, s := range list {
		b := s.i.Body
		path := fmt.Sprintf("scheduled_actions[%d].", n)
		m.setStr(path+"name", s.i, b, "scheduled_action_name", s.i.Name, "not set: the resource's name")
		m.d.set(path+"at", s.start.Sub(zero), m.from(s.i, b.Attrs["start_time"], "start_time")+" less "+zero.Format(time.RFC3339))
		if v := b.attr("recurrence"); v != nil {
			if c, ok := m.str(s.i, v, "recurrence", "once"); ok {
				if d, ok := cronPeriod(c); ok {
					m.d.set(path+"recurrence", d, m.from(s.i, v, "recurrence"))
				} else {
					m.note(v, Inexact, s.i.Addr+": recurrence", "%q is not a fixed period the lab can repeat (every N minutes or hours, or daily); the action runs once", c)
				}
			}
		}
		for _, k := range []string{"min_size", "max_size", "desired_capacity"} {
			if v := b.attr(k); v != nil {
				if n, ok := m.integer(s.i, v, k, "unchanged"); ok && n >= 0 {
					m.d.set(path+k, n, m.from(s.i, v, k))
				}
			}
		}
		for _, k := range []string{"end_time", "time_zone"} {
			if v := b.attr(k); v != nil {
				m.note(v, NotModelled, s.i.Addr+": "+k, "a lab run has no calendar")
			}
		}
	}
}

var (
	cronMinutes = regexp.MustCompile(`^\*/(\d+) \* \* \* \*$`)
	cronHours   = regexp.MustCompile(`^0 \*/(\d+) \* \* \*$`)
)

// cronPeriod is the period of a cron expression that repeats at a fixed
// interval: the inverse of the exporter's.
func cronPeriod(c string) (time.Duration, bool) {
	c = strings.Join(strings.Fields(c), " ")
	if mm := cronMinutes.FindStringSubmatch(c); mm != nil {
		n, _ := strconv.Atoi(mm[1])
		return time.Duration(n) * time.Minute, n > 0
	}
	if mm := cronHours.FindStringSubmatch(c); mm != nil {
		n, _ := strconv.Atoi(mm[1])
		return time.Duration(n) * time.Hour, n > 0
	}
	switch c {
	case "* * * * *":
		return time.Minute, true
	case "0 * * * *":
		return time.Hour, true
	case "0 0 * * *":
		return 24 * time.Hour, true
	}
	return 0, false
}

// unknownMarker stands in the user data for a template variable not known
// offline, so the rest of the script can still be read.
const unknownMarker = "__not_known_offline__"

// decodeUserData undoes base64encode when the user data is base64.
func decodeUserData(s string) string {
	t := strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(t); err == nil && len(t) > 0 && utf8.Valid(b) {
		return string(b)
	}
	return s
}

// run is what a docker run command line says.
type run struct {
	image   string
	publish []string
	env     []string
}

// dockerValueFlags are docker run's options that take a value.
var dockerBoolFlags = map[string]bool{"-d": true, "--detach": true, "--rm": true, "-i": true, "-t": true, "-it": true, "-ti": true,
	"--init": true, "--privileged": true, "--interactive": true, "--tty": true, "--read-only": true, "-P": true, "--publish-all": true}

// dockerRun finds the first docker run in a script and reads it.
func dockerRun(script string) *run {
	script = strings.ReplaceAll(script, "\\\n", " ")
	for _, line := range strings.Split(script, "\n") {
		words := shellWords(line)
		for i := 0; i+1 < len(words); i++ {
			if words[i] != "docker" || (words[i+1] != "run" && !(words[i+1] == "container" && i+2 < len(words) && words[i+2] == "run")) {
				continue
			}
			j := i + 2
			if words[i+1] == "container" {
				j++
			}
			r := &run{}
			for ; j < len(words); j++ {
				w := words[j]
				if !strings.HasPrefix(w, "-") {
					r.image = w
					return r
				}
				name, val, hasVal := strings.Cut(w, "=")
				if !hasVal && !dockerBoolFlags[w] && j+1 < len(words) {
					j++
					val = words[j]
				}
				switch name {
				case "-p", "--publish":
					r.publish = append(r.publish, val)
				case "-e", "--env":
					r.env = append(r.env, val)
				}
			}
			return r
		}
	}
	return nil
}

// shellWords splits a line as the shell would, quotes removed; a comment
// ends it.
func shellWords(line string) []string {
	var out []string
	var cur strings.Builder
	in, escaped := false, false
	quote := rune(0)
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped, in = false, true
		case r == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '#' && !in:
			return out
		case r == ' ' || r == '\t' || r == ';' || r == '&' || r == '|':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// reasons say why an argument of a rehearsed resource is not rehearsed.
var reasons = map[string]string{
	"name": "names are not rehearsed", "name_prefix": "names are not rehearsed", "description": "descriptions are not rehearsed",
	"alarm_name": "names are not rehearsed", "alarm_description": "descriptions are not rehearsed",
	"tags": "tags are not rehearsed", "tag": "tags are not rehearsed", "tags_all": "tags are not rehearsed", "tag_specifications": "tags are not rehearsed",
	"vpc_id": "network plumbing: the lab's zones are loopback address ranges", "subnets": "network plumbing: the lab's zones come from the group's subnets",
	"security_groups": "security groups are not simulated", "vpc_security_group_ids": "security groups are not simulated",
	"internal": "the lab's load balancer is reached on loopback", "ip_address_type": "the lab is IPv4 on loopback",
	"image_id": "the lab runs the launch template's container (or its own SimplyDone), not an AMI",
	"key_name": "there is no SSH in the lab", "iam_instance_profile": "permissions are not rehearsed",
	"metadata_options": "the instance metadata service is not simulated", "block_device_mappings": "disks are not simulated",
	"access_logs": "access logs are not written", "connection_logs": "connection logs are not written",
	"enable_deletion_protection": "deletion protection is not rehearsed", "certificate_arn": "the lab does not terminate TLS", "ssl_policy": "the lab does not terminate TLS",
	"wait_for_capacity_timeout": "Terraform's own wait", "force_delete": "deletion is not rehearsed", "protect_from_scale_in": "scale-in protection is not rehearsed",
	"enabled_metrics": "the group's metrics are always available to the lab's alarms", "metrics_granularity": "the group's metrics are always available to the lab's alarms",
	"max_instance_lifetime": "instance lifetimes are not rehearsed", "capacity_rebalance": "Spot is not rehearsed", "load_balancers": "Classic Load Balancers are not rehearsed",
	"placement_group": "placement is not simulated", "service_linked_role_arn": "permissions are not rehearsed",
	"actions_enabled": "the lab's alarms always act", "unit": "the lab's metrics carry no unit", "protocol_version": "the lab speaks HTTP/1.1",
	"enable_http2": "the lab speaks HTTP/1.1", "preserve_host_header": "not yet a stack setting", "xff_header_processing_mode": "not yet a stack setting",
	"network_interfaces": "network plumbing: not simulated", "credit_specification": "CPU credits are not simulated",
	"ebs_optimized": "disks are not simulated", "update_default_version": "the lab's group starts on version 1",
	"default_version": "the lab's group starts on version 1", "instance_initiated_shutdown_behavior": "not rehearsed",
	"lambda_multi_value_headers_enabled": "Lambda targets are not rehearsed", "proxy_protocol_v2": "Network Load Balancer setting",
	"connection_termination": "Network Load Balancer setting", "preserve_client_ip": "Network Load Balancer setting",
	"policy_type": "", "autoscaling_group_name": "",
	"UpdatePolicy":   "a CloudFormation rolling update: the lab's deploy action (a scenario's) starts an instance refresh instead",
	"CreationPolicy": "CloudFormation waits for instance signals; the lab's group is ready when its instances pass their health checks",
}

// plumbing are resource types the lab does not simulate, and why.
var plumbing = map[string]string{
	"aws_vpc": "network", "aws_subnet": "network", "aws_internet_gateway": "network", "aws_nat_gateway": "network", "aws_eip": "network",
	"aws_route_table": "network", "aws_route": "network", "aws_route_table_association": "network", "aws_main_route_table_association": "network",
	"aws_security_group": "security", "aws_security_group_rule": "security", "aws_vpc_security_group_ingress_rule": "security",
	"aws_vpc_security_group_egress_rule": "security", "aws_network_acl": "network", "aws_network_acl_rule": "network",
	"aws_vpc_endpoint": "network", "aws_egress_only_internet_gateway": "network", "aws_default_security_group": "security",
	"aws_default_route_table": "network", "aws_default_network_acl": "network", "aws_flow_log": "network",
}

// unmodelled notes every resource the mapping did not use, and every
// argument of the used ones it did not read.
func (m *mapper) unmodelled() {
	seenDecl := map[string]bool{}
	for _, i := range m.all {
		if i.Mode != "resource" {
			continue
		}
		if !m.used[i] {
			key := i.Pos().String()
			if seenDecl[key] {
				continue
			}
			seenDecl[key] = true
			addr := i.Addr
			if i.Key != cty.NilVal {
				addr = strings.TrimSuffix(i.Addr, i.Addr[strings.LastIndex(i.Addr, "["):]) + " (every instance)"
			}
			why := whyNot(i.Type)
			if m.zoneSubnets[i] {
				why = "its availability_zone gives a zone of the stack; the rest (CIDR, routes, public addresses) is " + why
			}
			m.instNote(i, kindFor(i.Type), addr, "%s", why)
			continue
		}
		m.unread(i, i.Addr, i.Body)
	}
}

func (m *mapper) unread(i *Instance, subject string, b *Body) {
	for _, u := range b.unread() {
		why, ok := reasons[u.Name]
		if ok && why == "" {
			continue
		}
		if !ok {
			why = "the lab does not model it"
		}
		m.notes = append(m.notes, Note{Pos: posOf(u.Rng), Kind: NotModelled, Subject: subject + ": " + u.Name, Msg: why})
	}
	for _, blk := range b.Blocks {
		if b.read[blk.Type] {
			m.unread(i, subject+": "+blk.Type, blk.Body)
		}
	}
}

func kindFor(t string) string {
	switch canonical(t) {
	}
	return NotModelled
}

// whyNot says why a resource type is not rehearsed.
func whyNot(t string) string {
	switch canonical(t) {
	case "aws_lb_listener_rule":
		return "a rule of a listener the lab does not rehearse (its one listener's rules are)"
	case "aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance":
		return "not part of the rehearsed data tier (its engine or source is not known offline, or it replicates another)"
	case "aws_db_subnet_group":
		return "not the rehearsed data tier's DB subnet group"
	case "aws_lb_target_group_attachment":
		return "a static target: the lab's targets are the group's instances"
	case "aws_launch_template", "aws_launch_configuration":
		return "not the rehearsed group's launch template"
	case "aws_lb_target_group":
		return "no Auto Scaling group of the configuration registers with it: the lab's targets are a group's instances"
	case "aws_autoscaling_lifecycle_hook", "aws_autoscaling_schedule", "aws_autoscaling_attachment":
		return "not for the rehearsed group"
	}
	switch plumbing[t] {
	case "network":
		return "network plumbing: the lab's zones are loopback address ranges (127.0.N.0/24); routes, NAT and gateways are not simulated"
	case "security":
		return "security groups are not simulated: every part of the lab reaches every other on loopback"
	}
	switch {
	case strings.HasPrefix(t, "aws_iam_"):
		return "permissions are not rehearsed"
	case strings.HasPrefix(t, "aws_wafv2_"), strings.HasPrefix(t, "aws_waf_"):
		return "a web application firewall is not rehearsed"
	case strings.HasPrefix(t, "aws_route53_"):
		return "the lab's DNS is its own entry (one name for the load balancer's nodes)"
	case strings.HasPrefix(t, "aws_acm_"):
		return "the lab does not terminate TLS"
	case strings.HasPrefix(t, "aws_cloudwatch_log_"), strings.HasPrefix(t, "aws_sns_"), strings.HasPrefix(t, "aws_s3_"):
		return "not rehearsed: logs, notifications and storage are outside the web tier the lab models"
	case !strings.HasPrefix(t, "aws_"):
		return "not an AWS resource: not rehearsed"
	}
	return "not rehearsed: " + rehearses
}
