package stack

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// Parse reads a stack file, fills in AWS's defaults for everything it omits,
// and validates it. filename is only used in error messages. On any problem
// it returns *Errors listing them all.
func Parse(filename string, data []byte) (*Stack, error) {
	root, err := yamlcheck.Document(filename, data, "stack", "name, target_group.port, launch_template and auto_scaling_group")
	if err != nil {
		return nil, err
	}
	if err := yamlcheck.NotA(filename, root, "stack", topKeys...); err != nil {
		return nil, err
	}
	p := parser{Parser: yamlcheck.NewParser(filename), file: filename}
	s := defaults()
	if p.decodeStack(root, s) {
		p.deriveDefaults(s)
		p.validate(s)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	s.File, s.Source = filename, data
	return s, nil
}

// Load reads and parses the stack file at path.
func Load(path string) (*Stack, error) {
	data, err := yamlcheck.ReadFile(path, "stack")
	var errs *yamlcheck.Errors
	if errors.As(err, &errs) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read stack: %w", err)
	}
	return Parse(path, data)
}

//go:embed builtin/*.yaml
var builtinFS embed.FS

var builtins = yamlcheck.Builtins{FS: builtinFS, Kind: "stack"}

// BuiltinNames lists the built-in stacks, sorted.
func BuiltinNames() []string { return builtins.Names() }

// Builtin parses the built-in stack called name. Each call returns a fresh copy.
func Builtin(name string) (*Stack, error) {
	file, data, err := builtins.Read(name)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Resolve returns the built-in stack of that name if there is one, else
// loads nameOrPath as a file.
func Resolve(nameOrPath string) (*Stack, error) {
	if slices.Contains(BuiltinNames(), nameOrPath) {
		return Builtin(nameOrPath)
	}
	s, err := Load(nameOrPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stack %q: not a built-in (%s) and no such file", nameOrPath, strings.Join(BuiltinNames(), ", "))
	}
	return s, err
}

// parser decodes and validates one stack file; the generic YAML walking is
// yamlcheck's, the stack's own rules are the methods in this package.
type parser struct {
	*yamlcheck.Parser
	file string // the file's name, for the parsers of its services (services.go)
}

// defaults is a stack with AWS's default for every setting that has one.
func defaults() *Stack {
	return &Stack{
		Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		LoadBalancer: LoadBalancer{
			ListenerPort:     80,
			ListenerProtocol: "HTTP",
			IdleTimeout:      60 * time.Second,
			// routing.http.desync_mitigation_mode's default
			DesyncMitigationMode: "defensive",
		},
		TargetGroup: TargetGroup{
			Protocol:            "HTTP",
			Algorithm:           "round_robin",
			CrossZone:           CrossZoneUseLBConf,
			DeregistrationDelay: 300 * time.Second,
			Health: TargetGroupHealth{
				UnhealthyStateRouting: MinimumHealthyTargets{Count: 1},
				DNSFailover:           MinimumHealthyTargets{Count: 1},
			},
			AnomalyMitigation: "off",
			Stickiness:        Stickiness{Type: StickinessLBCookie, CookieDuration: DefaultStickinessDuration},
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
			Version:      1,
			Monitoring:   MonitoringBasic,
			PendingTime:  DefaultPendingTime, // [observed]; AWS documents none
		},
		AutoScalingGroup: AutoScalingGroup{
			HealthCheckType:              "EC2",
			DefaultCooldown:              300 * time.Second,
			TerminationPolicies:          []string{"Default"},
			CapacityDistributionStrategy: "balanced-best-effort",
		},
		CloudWatch: CloudWatch{PublicationDelay: defaultPublicationDelay()},
	}
}

// deriveDefaults fills the defaults that depend on other settings.
func (p *parser) deriveDefaults(s *Stack) {
	if s.MultiService() { // each service's were derived with it (services.go)
		p.deriveDatabase(s)
		return
	}
	if !p.Has("launch_template.port") {
		s.LaunchTemplate.Port = s.TargetGroup.Port
	}
	if !p.Has("auto_scaling_group.desired_capacity") {
		s.AutoScalingGroup.DesiredCapacity = s.AutoScalingGroup.MinSize
	}
	if len(s.AutoScalingGroup.TerminationPolicies) == 0 {
		s.AutoScalingGroup.TerminationPolicies = []string{"Default"}
	}
	p.deriveDatabase(s)
	for i := range s.ScalingPolicies {
		a := s.ScalingPolicies[i].Alarm
		if a != nil && !p.Has(yamlcheck.Index("scaling_policies", i)+".alarm.datapoints_to_alarm") {
			a.DatapointsToAlarm = a.EvaluationPeriods
		}
	}
}

// topKeys are the keys a stack file may have at its top level.
var topKeys = []string{"name", "availability_zones", "load_balancer", "target_group",
	"launch_template", "auto_scaling_group", "scaling_policies", "scheduled_actions", "cloudwatch", "database", "services", "zones"}

// decodeStack reads the file into s over its defaults. It reports false
// when the file is not a mapping at all, so there is nothing to validate.
func (p *parser) decodeStack(root *yaml.Node, s *Stack) bool {
	m := p.Mapping(root, "", topKeys...)
	if m == nil {
		return false
	}
	p.Str(m, "", "name", &s.Name)
	p.StrList(m, "", "availability_zones", &s.Zones)
	p.zoneEntries(m, s) // zones: instead, with agents (zones.go)
	p.loadBalancer(m["load_balancer"], &s.LoadBalancer)
	p.targetGroup(m["target_group"], &s.TargetGroup)
	p.launchTemplate(m["launch_template"], &s.LaunchTemplate)
	p.autoScalingGroup(m["auto_scaling_group"], &s.AutoScalingGroup)
	for i, n := range p.List(m["scaling_policies"], "scaling_policies") {
		s.ScalingPolicies = append(s.ScalingPolicies, p.scalingPolicy(n, yamlcheck.Index("scaling_policies", i)))
	}
	p.scheduledActions(m["scheduled_actions"], s)
	p.cloudWatch(m["cloudwatch"], &s.CloudWatch)
	p.database(m["database"], s)
	p.services(m, s)
	return true
}

func (p *parser) loadBalancer(n *yaml.Node, lb *LoadBalancer) {
	const path = "load_balancer"
	m := p.Mapping(n, path, "listener", "idle_timeout", "desync_mitigation_mode", "drop_invalid_header_fields")
	p.Dur(m, path, "idle_timeout", &lb.IdleTimeout, false)
	p.Str(m, path, "desync_mitigation_mode", &lb.DesyncMitigationMode)
	p.Bool(m, path, "drop_invalid_header_fields", &lb.DropInvalidHeaderFields)
	const lpath = path + ".listener"
	l := p.Mapping(m["listener"], lpath, "port", "protocol", "rules", "default_action")
	p.Int(l, lpath, "port", &lb.ListenerPort)
	p.Str(l, lpath, "protocol", &lb.ListenerProtocol)
	p.listenerRules(l, lpath, lb)
}

func (p *parser) targetGroup(n *yaml.Node, tg *TargetGroup) {
	const path = "target_group"
	m := p.Mapping(n, path, "port", "protocol", "load_balancing_algorithm_type",
		"load_balancing_cross_zone_enabled", "load_balancing_anomaly_mitigation", "deregistration_delay", "slow_start",
		"health_check", "target_group_health", "stickiness")
	p.stickiness(m, path, &tg.Stickiness)
	p.Int(m, path, "port", &tg.Port)
	p.Str(m, path, "protocol", &tg.Protocol)
	p.Str(m, path, "load_balancing_algorithm_type", &tg.Algorithm)
	p.Str(m, path, "load_balancing_cross_zone_enabled", &tg.CrossZone)
	p.Dur(m, path, "deregistration_delay", &tg.DeregistrationDelay, false)
	p.Dur(m, path, "slow_start", &tg.SlowStart, false)
	p.Str(m, path, "load_balancing_anomaly_mitigation", &tg.AnomalyMitigation)

	const gpath = path + ".target_group_health"
	g := p.Mapping(m["target_group_health"], gpath, "unhealthy_state_routing", "dns_failover")
	p.minimumHealthy(g, gpath, "unhealthy_state_routing", &tg.Health.UnhealthyStateRouting)
	p.minimumHealthy(g, gpath, "dns_failover", &tg.Health.DNSFailover)

	const hpath = path + ".health_check"
	hc := &tg.HealthCheck
	h := p.Mapping(m["health_check"], hpath, "path", "port", "protocol", "interval", "timeout",
		"healthy_threshold", "unhealthy_threshold", "matcher")
	p.Str(h, hpath, "path", &hc.Path)
	p.Str(h, hpath, "port", &hc.Port)
	p.Str(h, hpath, "protocol", &hc.Protocol)
	p.Dur(h, hpath, "interval", &hc.Interval, false)
	p.Dur(h, hpath, "timeout", &hc.Timeout, false)
	p.Int(h, hpath, "healthy_threshold", &hc.HealthyThreshold)
	p.Int(h, hpath, "unhealthy_threshold", &hc.UnhealthyThreshold)
	p.Str(h, hpath, "matcher", &hc.Matcher)
}

// minimumHealthy reads one target_group_health action: its
// minimum_healthy_targets_count and _percentage, each a number or off.
func (p *parser) minimumHealthy(m map[string]*yaml.Node, path, key string, dst *MinimumHealthyTargets) {
	apath := yamlcheck.Sub(path, key)
	a := p.Mapping(m[key], apath, "minimum_healthy_targets_count", "minimum_healthy_targets_percentage")
	p.offOrInt(a, apath, "minimum_healthy_targets_count", 1, 0, &dst.Count)
	p.offOrInt(a, apath, "minimum_healthy_targets_percentage", 1, 100, &dst.Percentage)
}

// offOrInt reads "off" (stored as 0) or a whole number from lo to hi (hi 0:
// no upper bound), as AWS's target group health attributes take them.
func (p *parser) offOrInt(m map[string]*yaml.Node, path, key string, lo, hi int, dst *int) {
	n := p.Scalar(m, path, key, "off or a whole number")
	if n == nil {
		return
	}
	allowed := fmt.Sprintf("off or a whole number from %d", lo)
	if hi > 0 {
		allowed = fmt.Sprintf("off or a whole number from %d to %d", lo, hi)
	}
	if n.Tag == "!!str" && n.Value == "off" {
		*dst = 0
		return
	}
	var v int
	if n.Tag != "!!int" || n.Decode(&v) != nil || v < lo || (hi > 0 && v > hi) {
		p.ErrAt(n, yamlcheck.Sub(path, key), "%s is not allowed; use %s", yamlcheck.Describe(n), allowed)
		return
	}
	*dst = v
}

func (p *parser) launchTemplate(n *yaml.Node, lt *LaunchTemplate) {
	const path = "launch_template"
	m := p.Mapping(n, path, "command", "image", "instance_type", "port", "environment", "boot_time", "version", "versions", "monitoring", "pending_time", "restart_time")
	p.StrList(m, path, "command", &lt.Command)
	p.Str(m, path, "image", &lt.Image)
	p.Str(m, path, "instance_type", &lt.InstanceType)
	p.Int(m, path, "port", &lt.Port)
	p.StrMap(m, path, "environment", &lt.Environment)
	p.Dur(m, path, "boot_time", &lt.BootTime, true)
	p.Str(m, path, "monitoring", &lt.Monitoring)
	p.Dur(m, path, "pending_time", &lt.PendingTime, true)
	if m["restart_time"] != nil {
		lt.RestartTime = new(time.Duration)
		p.Dur(m, path, "restart_time", lt.RestartTime, true)
	}
	p.Int(m, path, "version", &lt.Version)
	p.versions(m, lt)
}

func (p *parser) autoScalingGroup(n *yaml.Node, g *AutoScalingGroup) {
	const path = "auto_scaling_group"
	m := p.Mapping(n, path, "min_size", "max_size", "desired_capacity", "health_check_type",
		"health_check_grace_period", "default_cooldown", "default_instance_warmup",
		"termination_policies", "capacity_distribution_strategy", "instance_maintenance_policy", "lifecycle_hooks", "warm_pool")
	p.Int(m, path, "min_size", &g.MinSize)
	p.Int(m, path, "max_size", &g.MaxSize)
	p.Int(m, path, "desired_capacity", &g.DesiredCapacity)
	p.Str(m, path, "health_check_type", &g.HealthCheckType)
	p.Dur(m, path, "health_check_grace_period", &g.HealthCheckGracePeriod, false)
	p.Dur(m, path, "default_cooldown", &g.DefaultCooldown, false)
	g.DefaultInstanceWarmup = p.OptDur(m, path, "default_instance_warmup")
	p.StrList(m, path, "termination_policies", &g.TerminationPolicies)
	p.Str(m, path, "capacity_distribution_strategy", &g.CapacityDistributionStrategy)
	p.maintenancePolicy(m, g)
	p.lifecycleHooks(m, g)
	p.warmPool(m, g)
}

func (p *parser) scalingPolicy(n *yaml.Node, path string) ScalingPolicy {
	sp := ScalingPolicy{PolicyType: SimpleScaling}
	m := p.Mapping(n, path, "name", "policy_type", "adjustment_type", "scaling_adjustment",
		"step_adjustments", "min_adjustment_magnitude", "cooldown", "estimated_instance_warmup",
		"target_tracking", "alarm")
	p.Str(m, path, "name", &sp.Name)
	p.Str(m, path, "policy_type", &sp.PolicyType)
	p.Str(m, path, "adjustment_type", &sp.AdjustmentType)
	p.Int(m, path, "scaling_adjustment", &sp.ScalingAdjustment)
	p.Int(m, path, "min_adjustment_magnitude", &sp.MinAdjustmentMagnitude)
	sp.Cooldown = p.OptDur(m, path, "cooldown")
	sp.EstimatedInstanceWarmup = p.OptDur(m, path, "estimated_instance_warmup")

	spath := yamlcheck.Sub(path, "step_adjustments")
	for i, sn := range p.List(m["step_adjustments"], spath) {
		ipath := yamlcheck.Index(spath, i)
		s := p.Mapping(sn, ipath, "metric_interval_lower_bound", "metric_interval_upper_bound", "scaling_adjustment")
		step := StepAdjustment{
			LowerBound: p.OptFloat(s, ipath, "metric_interval_lower_bound"),
			UpperBound: p.OptFloat(s, ipath, "metric_interval_upper_bound"),
		}
		p.Int(s, ipath, "scaling_adjustment", &step.ScalingAdjustment)
		sp.StepAdjustments = append(sp.StepAdjustments, step)
	}

	if m["target_tracking"] != nil {
		tpath := yamlcheck.Sub(path, "target_tracking")
		t := p.Mapping(m["target_tracking"], tpath, "predefined_metric_type", "target_value", "disable_scale_in", "period")
		sp.TargetTracking = &TargetTracking{}
		p.Str(t, tpath, "predefined_metric_type", &sp.TargetTracking.PredefinedMetricType)
		p.Float(t, tpath, "target_value", &sp.TargetTracking.TargetValue)
		p.Bool(t, tpath, "disable_scale_in", &sp.TargetTracking.DisableScaleIn)
		sp.TargetTracking.Period = time.Minute
		p.Dur(t, tpath, "period", &sp.TargetTracking.Period, false)
	}

	if m["alarm"] != nil {
		apath := yamlcheck.Sub(path, "alarm")
		a := p.Mapping(m["alarm"], apath, "metric_name", "namespace", "statistic", "comparison_operator",
			"threshold", "period", "evaluation_periods", "datapoints_to_alarm", "treat_missing_data", "dimensions")
		sp.Alarm = &Alarm{TreatMissingData: "missing"}
		p.Str(a, apath, "metric_name", &sp.Alarm.MetricName)
		p.Str(a, apath, "namespace", &sp.Alarm.Namespace)
		p.Str(a, apath, "statistic", &sp.Alarm.Statistic)
		p.Str(a, apath, "comparison_operator", &sp.Alarm.ComparisonOperator)
		p.Float(a, apath, "threshold", &sp.Alarm.Threshold)
		p.Dur(a, apath, "period", &sp.Alarm.Period, false)
		p.Int(a, apath, "evaluation_periods", &sp.Alarm.EvaluationPeriods)
		p.Int(a, apath, "datapoints_to_alarm", &sp.Alarm.DatapointsToAlarm)
		p.Str(a, apath, "treat_missing_data", &sp.Alarm.TreatMissingData)
		p.StrMap(a, apath, "dimensions", &sp.Alarm.Dimensions)
	}
	return sp
}
