package stack

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Parse reads a stack file, fills in AWS's defaults for everything it omits,
// and validates it. filename is only used in error messages. On any problem
// it returns *Errors listing them all.
func Parse(filename string, data []byte) (*Stack, error) {
	root, err := parseYAML(filename, data)
	if err != nil {
		return nil, err
	}
	p := newParser(filename)
	s := defaults()
	if p.decodeStack(root, s) {
		p.deriveDefaults(s)
		p.validate(s)
	}
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, &Errors{List: p.errs}
	}
	s.File, s.Source = filename, data
	return s, nil
}

// Load reads and parses the stack file at path.
func Load(path string) (*Stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack: %w", err)
	}
	return Parse(path, data)
}

//go:embed builtin/*.yaml
var builtins embed.FS

// BuiltinNames lists the built-in stacks, sorted.
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtins, "builtin")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Builtin parses the built-in stack called name. Each call returns a fresh copy.
func Builtin(name string) (*Stack, error) {
	file := path.Join("builtin", name+".yaml")
	data, err := builtins.ReadFile(file)
	if err != nil || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("no built-in stack %q; built-ins are %s", name, strings.Join(BuiltinNames(), ", "))
	}
	return Parse(file, data)
}

// Resolve returns the built-in stack of that name if there is one, else
// loads nameOrPath as a file.
func Resolve(nameOrPath string) (*Stack, error) {
	if contains(BuiltinNames(), nameOrPath) {
		return Builtin(nameOrPath)
	}
	s, err := Load(nameOrPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stack %q: not a built-in (%s) and no such file", nameOrPath, strings.Join(BuiltinNames(), ", "))
	}
	return s, err
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root node of the file's one document, or the
// syntax error yaml reports, at the line it reports.
func parseYAML(filename string, data []byte) (*yaml.Node, error) {
	one := func(line int, msg string) error {
		return &Errors{List: []Error{{File: filename, Line: line, Msg: msg}}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, one(0, "the file is empty; a stack needs at least name, target_group.port, launch_template and auto_scaling_group")
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, one(line, "YAML syntax: "+m[2])
		}
		return nil, one(0, "YAML syntax: "+strings.TrimPrefix(msg, "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, one(extra.Line, "a second YAML document (---); a stack file holds one")
	}
	if len(doc.Content) == 0 {
		return nil, one(0, "the file is empty")
	}
	return doc.Content[0], nil
}

// defaults is a stack with AWS's default for every setting that has one.
func defaults() *Stack {
	return &Stack{
		Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		LoadBalancer: LoadBalancer{
			ListenerPort:     80,
			ListenerProtocol: "HTTP",
			IdleTimeout:      60 * time.Second,
		},
		TargetGroup: TargetGroup{
			Protocol:            "HTTP",
			Algorithm:           "round_robin",
			CrossZone:           CrossZoneUseLBConf,
			DeregistrationDelay: 300 * time.Second,
			HealthCheck: HealthCheck{
				Path:               "/",
				Port:               "traffic-port",
				Protocol:           "HTTP",
				Interval:           30 * time.Second,
				Timeout:            5 * time.Second,
				HealthyThreshold:   5,
				UnhealthyThreshold: 2,
				Matcher:            "200",
			},
		},
		LaunchTemplate: LaunchTemplate{
			InstanceType: "t3.micro",
			Environment:  map[string]string{},
		},
		AutoScalingGroup: AutoScalingGroup{
			HealthCheckType:              "EC2",
			DefaultCooldown:              300 * time.Second,
			TerminationPolicies:          []string{"Default"},
			CapacityDistributionStrategy: "balanced-best-effort",
		},
	}
}

// deriveDefaults fills the defaults that depend on other settings.
func (p *parser) deriveDefaults(s *Stack) {
	if !p.has("launch_template.port") {
		s.LaunchTemplate.Port = s.TargetGroup.Port
	}
	if !p.has("auto_scaling_group.desired_capacity") {
		s.AutoScalingGroup.DesiredCapacity = s.AutoScalingGroup.MinSize
	}
	if len(s.AutoScalingGroup.TerminationPolicies) == 0 {
		s.AutoScalingGroup.TerminationPolicies = []string{"Default"}
	}
	for i := range s.ScalingPolicies {
		a := s.ScalingPolicies[i].Alarm
		if a != nil && !p.has(index("scaling_policies", i)+".alarm.datapoints_to_alarm") {
			a.DatapointsToAlarm = a.EvaluationPeriods
		}
	}
}

// decodeStack reads the file into s over its defaults. It reports false
// when the file is not a mapping at all, so there is nothing to validate.
func (p *parser) decodeStack(root *yaml.Node, s *Stack) bool {
	m := p.mapping(root, "", "name", "availability_zones", "load_balancer", "target_group",
		"launch_template", "auto_scaling_group", "scaling_policies")
	if m == nil {
		return false
	}
	p.str(m, "", "name", &s.Name)
	p.strList(m, "", "availability_zones", &s.Zones)
	p.loadBalancer(m["load_balancer"], &s.LoadBalancer)
	p.targetGroup(m["target_group"], &s.TargetGroup)
	p.launchTemplate(m["launch_template"], &s.LaunchTemplate)
	p.autoScalingGroup(m["auto_scaling_group"], &s.AutoScalingGroup)
	for i, n := range p.list(m["scaling_policies"], "scaling_policies") {
		s.ScalingPolicies = append(s.ScalingPolicies, p.scalingPolicy(n, index("scaling_policies", i)))
	}
	return true
}

func (p *parser) loadBalancer(n *yaml.Node, lb *LoadBalancer) {
	const path = "load_balancer"
	m := p.mapping(n, path, "listener", "idle_timeout")
	p.dur(m, path, "idle_timeout", &lb.IdleTimeout, false)
	const lpath = path + ".listener"
	l := p.mapping(m["listener"], lpath, "port", "protocol")
	p.int(l, lpath, "port", &lb.ListenerPort)
	p.str(l, lpath, "protocol", &lb.ListenerProtocol)
}

func (p *parser) targetGroup(n *yaml.Node, tg *TargetGroup) {
	const path = "target_group"
	m := p.mapping(n, path, "port", "protocol", "load_balancing_algorithm_type",
		"load_balancing_cross_zone_enabled", "deregistration_delay", "slow_start", "health_check")
	p.int(m, path, "port", &tg.Port)
	p.str(m, path, "protocol", &tg.Protocol)
	p.str(m, path, "load_balancing_algorithm_type", &tg.Algorithm)
	p.str(m, path, "load_balancing_cross_zone_enabled", &tg.CrossZone)
	p.dur(m, path, "deregistration_delay", &tg.DeregistrationDelay, false)
	p.dur(m, path, "slow_start", &tg.SlowStart, false)

	const hpath = path + ".health_check"
	hc := &tg.HealthCheck
	h := p.mapping(m["health_check"], hpath, "path", "port", "protocol", "interval", "timeout",
		"healthy_threshold", "unhealthy_threshold", "matcher")
	p.str(h, hpath, "path", &hc.Path)
	p.str(h, hpath, "port", &hc.Port)
	p.str(h, hpath, "protocol", &hc.Protocol)
	p.dur(h, hpath, "interval", &hc.Interval, false)
	p.dur(h, hpath, "timeout", &hc.Timeout, false)
	p.int(h, hpath, "healthy_threshold", &hc.HealthyThreshold)
	p.int(h, hpath, "unhealthy_threshold", &hc.UnhealthyThreshold)
	p.str(h, hpath, "matcher", &hc.Matcher)
}

func (p *parser) launchTemplate(n *yaml.Node, lt *LaunchTemplate) {
	const path = "launch_template"
	m := p.mapping(n, path, "command", "image", "instance_type", "port", "environment", "boot_time")
	p.strList(m, path, "command", &lt.Command)
	p.str(m, path, "image", &lt.Image)
	p.str(m, path, "instance_type", &lt.InstanceType)
	p.int(m, path, "port", &lt.Port)
	p.strMap(m, path, "environment", &lt.Environment)
	p.dur(m, path, "boot_time", &lt.BootTime, true)
}

func (p *parser) autoScalingGroup(n *yaml.Node, g *AutoScalingGroup) {
	const path = "auto_scaling_group"
	m := p.mapping(n, path, "min_size", "max_size", "desired_capacity", "health_check_type",
		"health_check_grace_period", "default_cooldown", "default_instance_warmup",
		"termination_policies", "capacity_distribution_strategy")
	p.int(m, path, "min_size", &g.MinSize)
	p.int(m, path, "max_size", &g.MaxSize)
	p.int(m, path, "desired_capacity", &g.DesiredCapacity)
	p.str(m, path, "health_check_type", &g.HealthCheckType)
	p.dur(m, path, "health_check_grace_period", &g.HealthCheckGracePeriod, false)
	p.dur(m, path, "default_cooldown", &g.DefaultCooldown, false)
	g.DefaultInstanceWarmup = p.optDur(m, path, "default_instance_warmup")
	p.strList(m, path, "termination_policies", &g.TerminationPolicies)
	p.str(m, path, "capacity_distribution_strategy", &g.CapacityDistributionStrategy)
}

func (p *parser) scalingPolicy(n *yaml.Node, path string) ScalingPolicy {
	sp := ScalingPolicy{PolicyType: SimpleScaling}
	m := p.mapping(n, path, "name", "policy_type", "adjustment_type", "scaling_adjustment",
		"step_adjustments", "min_adjustment_magnitude", "cooldown", "estimated_instance_warmup",
		"target_tracking", "alarm")
	p.str(m, path, "name", &sp.Name)
	p.str(m, path, "policy_type", &sp.PolicyType)
	p.str(m, path, "adjustment_type", &sp.AdjustmentType)
	p.int(m, path, "scaling_adjustment", &sp.ScalingAdjustment)
	p.int(m, path, "min_adjustment_magnitude", &sp.MinAdjustmentMagnitude)
	sp.Cooldown = p.optDur(m, path, "cooldown")
	sp.EstimatedInstanceWarmup = p.optDur(m, path, "estimated_instance_warmup")

	spath := sub(path, "step_adjustments")
	for i, sn := range p.list(m["step_adjustments"], spath) {
		ipath := index(spath, i)
		s := p.mapping(sn, ipath, "metric_interval_lower_bound", "metric_interval_upper_bound", "scaling_adjustment")
		step := StepAdjustment{
			LowerBound: p.optFloat(s, ipath, "metric_interval_lower_bound"),
			UpperBound: p.optFloat(s, ipath, "metric_interval_upper_bound"),
		}
		p.int(s, ipath, "scaling_adjustment", &step.ScalingAdjustment)
		sp.StepAdjustments = append(sp.StepAdjustments, step)
	}

	if m["target_tracking"] != nil {
		tpath := sub(path, "target_tracking")
		t := p.mapping(m["target_tracking"], tpath, "predefined_metric_type", "target_value", "disable_scale_in")
		sp.TargetTracking = &TargetTracking{}
		p.str(t, tpath, "predefined_metric_type", &sp.TargetTracking.PredefinedMetricType)
		p.float(t, tpath, "target_value", &sp.TargetTracking.TargetValue)
		p.bool(t, tpath, "disable_scale_in", &sp.TargetTracking.DisableScaleIn)
	}

	if m["alarm"] != nil {
		apath := sub(path, "alarm")
		a := p.mapping(m["alarm"], apath, "metric_name", "namespace", "statistic", "comparison_operator",
			"threshold", "period", "evaluation_periods", "datapoints_to_alarm", "treat_missing_data")
		sp.Alarm = &Alarm{TreatMissingData: "missing"}
		p.str(a, apath, "metric_name", &sp.Alarm.MetricName)
		p.str(a, apath, "namespace", &sp.Alarm.Namespace)
		p.str(a, apath, "statistic", &sp.Alarm.Statistic)
		p.str(a, apath, "comparison_operator", &sp.Alarm.ComparisonOperator)
		p.float(a, apath, "threshold", &sp.Alarm.Threshold)
		p.dur(a, apath, "period", &sp.Alarm.Period, false)
		p.int(a, apath, "evaluation_periods", &sp.Alarm.EvaluationPeriods)
		p.int(a, apath, "datapoints_to_alarm", &sp.Alarm.DatapointsToAlarm)
		p.str(a, apath, "treat_missing_data", &sp.Alarm.TreatMissingData)
	}
	return sp
}
