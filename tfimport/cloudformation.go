package tfimport

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

// CloudFormation imports the CloudFormation template (YAML or JSON) at
// path; o.Vars set its parameters (NAME=VALUE).
func CloudFormation(path string, o Options) (*Result, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the template: %w", err)
	}
	c, err := evalTemplate(path, data, o)
	if err != nil {
		return nil, err
	}
	m := newMapper(path, c.Instances)
	m.dir = dirOf(path)
	m.cfn = true
	m.notes = append(m.notes, c.Notes...)
	m.region = c.Region
	return m.result("cloudformation", path)
}

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[:i]
	}
	return "."
}

// template is a CloudFormation template being evaluated.
type template struct {
	file       string
	params     map[string]cty.Value
	mappings   *yaml.Node
	conditions map[string]*yaml.Node
	condVals   map[string]cty.Value
	resources  map[string]*yaml.Node // logical id → the resource's mapping
	region     string
	notes      []Note
	errs       []Error
	evaluating map[string]bool
}

// cfnTypes are the CloudFormation types the import reads, as the
// Terraform types the mapping knows.
var cfnTypes = map[string]string{
	"AWS::ElasticLoadBalancingV2::LoadBalancer":          "aws_lb",
	"AWS::ElasticLoadBalancingV2::Listener":              "aws_lb_listener",
	"AWS::ElasticLoadBalancingV2::ListenerRule":          "aws_lb_listener_rule",
	"AWS::ElasticLoadBalancingV2::TargetGroup":           "aws_lb_target_group",
	"AWS::EC2::LaunchTemplate":                           "aws_launch_template",
	"AWS::AutoScaling::LaunchConfiguration":              "aws_launch_configuration",
	"AWS::AutoScaling::AutoScalingGroup":                 "aws_autoscaling_group",
	"AWS::AutoScaling::ScalingPolicy":                    "aws_autoscaling_policy",
	"AWS::AutoScaling::ScheduledAction":                  "aws_autoscaling_schedule",
	"AWS::AutoScaling::LifecycleHook":                    "aws_autoscaling_lifecycle_hook",
	"AWS::AutoScaling::WarmPool":                         "aws_autoscaling_warm_pool",
	"AWS::CloudWatch::Alarm":                             "aws_cloudwatch_metric_alarm",
	"AWS::EC2::VPC":                                      "aws_vpc",
	"AWS::EC2::Subnet":                                   "aws_subnet",
	"AWS::EC2::InternetGateway":                          "aws_internet_gateway",
	"AWS::EC2::VPCGatewayAttachment":                     "aws_internet_gateway_attachment",
	"AWS::EC2::NatGateway":                               "aws_nat_gateway",
	"AWS::EC2::EIP":                                      "aws_eip",
	"AWS::EC2::RouteTable":                               "aws_route_table",
	"AWS::EC2::Route":                                    "aws_route",
	"AWS::EC2::SubnetRouteTableAssociation":              "aws_route_table_association",
	"AWS::EC2::SecurityGroup":                            "aws_security_group",
	"AWS::EC2::SecurityGroupIngress":                     "aws_security_group_rule",
	"AWS::EC2::SecurityGroupEgress":                      "aws_security_group_rule",
	"AWS::RDS::DBInstance":                               "aws_db_instance",
	"AWS::RDS::DBCluster":                                "aws_rds_cluster",
	"AWS::ElasticLoadBalancingV2::TargetGroupAttachment": "aws_lb_target_group_attachment",
}

// props renames the properties the mapping reads, per Terraform type;
// what is not listed keeps its CloudFormation name (and is listed as not
// rehearsed when the resource is).
var props = map[string]map[string]string{
	"aws_lb":              {"Name": "name", "Type": "load_balancer_type", "Subnets": "subnets", "SecurityGroups": "security_groups", "Tags": "tags", "Scheme": "scheme", "IpAddressType": "ip_address_type"},
	"aws_lb_listener":     {"LoadBalancerArn": "load_balancer_arn", "Port": "port", "Protocol": "protocol", "Certificates": "certificate_arn", "SslPolicy": "ssl_policy"},
	"aws_lb_target_group": {"Name": "name", "Port": "port", "Protocol": "protocol", "VpcId": "vpc_id", "TargetType": "target_type", "Tags": "tags", "ProtocolVersion": "protocol_version", "IpAddressType": "ip_address_type"},
	"aws_launch_template": {"LaunchTemplateName": "name", "TagSpecifications": "tag_specifications"},
	"aws_launch_configuration": {"InstanceType": "instance_type", "ImageId": "image_id", "UserData": "user_data", "InstanceMonitoring": "enable_monitoring",
		"SecurityGroups": "security_groups", "KeyName": "key_name", "IamInstanceProfile": "iam_instance_profile", "LaunchConfigurationName": "name"},
	"aws_autoscaling_group": {"AutoScalingGroupName": "name", "MinSize": "min_size", "MaxSize": "max_size", "DesiredCapacity": "desired_capacity",
		"VPCZoneIdentifier": "vpc_zone_identifier", "AvailabilityZones": "availability_zones", "TargetGroupARNs": "target_group_arns",
		"HealthCheckType": "health_check_type", "HealthCheckGracePeriod": "health_check_grace_period", "Cooldown": "default_cooldown",
		"DefaultInstanceWarmup": "default_instance_warmup", "TerminationPolicies": "termination_policies", "LaunchConfigurationName": "launch_configuration",
		"Tags": "tag", "MetricsCollection": "enabled_metrics", "MaxInstanceLifetime": "max_instance_lifetime", "CapacityRebalance": "capacity_rebalance",
		"LoadBalancerNames": "load_balancers", "PlacementGroup": "placement_group", "ServiceLinkedRoleARN": "service_linked_role_arn", "NewInstancesProtectedFromScaleIn": "protect_from_scale_in"},
	"aws_autoscaling_policy": {"AutoScalingGroupName": "autoscaling_group_name", "PolicyType": "policy_type", "AdjustmentType": "adjustment_type",
		"ScalingAdjustment": "scaling_adjustment", "MinAdjustmentMagnitude": "min_adjustment_magnitude", "Cooldown": "cooldown",
		"EstimatedInstanceWarmup": "estimated_instance_warmup", "MetricAggregationType": "metric_aggregation_type"},
	"aws_autoscaling_schedule": {"AutoScalingGroupName": "autoscaling_group_name", "StartTime": "start_time", "EndTime": "end_time", "Recurrence": "recurrence",
		"MinSize": "min_size", "MaxSize": "max_size", "DesiredCapacity": "desired_capacity", "TimeZone": "time_zone"},
	"aws_autoscaling_lifecycle_hook": {"LifecycleHookName": "name", "AutoScalingGroupName": "autoscaling_group_name", "LifecycleTransition": "lifecycle_transition",
		"HeartbeatTimeout": "heartbeat_timeout", "DefaultResult": "default_result", "NotificationTargetARN": "notification_target_arn", "RoleARN": "role_arn", "NotificationMetadata": "notification_metadata"},
	"aws_cloudwatch_metric_alarm": {"AlarmName": "alarm_name", "AlarmDescription": "alarm_description", "Namespace": "namespace", "MetricName": "metric_name",
		"Statistic": "statistic", "ExtendedStatistic": "extended_statistic", "ComparisonOperator": "comparison_operator", "Threshold": "threshold", "Period": "period",
		"EvaluationPeriods": "evaluation_periods", "DatapointsToAlarm": "datapoints_to_alarm", "TreatMissingData": "treat_missing_data", "AlarmActions": "alarm_actions",
		"OKActions": "ok_actions", "InsufficientDataActions": "insufficient_data_actions", "Unit": "unit", "ActionsEnabled": "actions_enabled"},
	"aws_subnet": {"AvailabilityZone": "availability_zone", "CidrBlock": "cidr_block", "VpcId": "vpc_id"},
}

// tgAttributes are target group attribute keys as Terraform arguments.
var tgAttributes = map[string]string{
	"deregistration_delay.timeout_seconds":        "deregistration_delay",
	"slow_start.duration_seconds":                 "slow_start",
	"load_balancing.algorithm.type":               "load_balancing_algorithm_type",
	"load_balancing.cross_zone.enabled":           "load_balancing_cross_zone_enabled",
	"load_balancing.algorithm.anomaly_mitigation": "load_balancing_anomaly_mitigation",
}

var shortForms = map[string]string{
	"!Ref": "Ref", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Select": "Fn::Select", "!GetAZs": "Fn::GetAZs", "!Join": "Fn::Join",
	"!Split": "Fn::Split", "!Base64": "Fn::Base64", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And",
	"!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!Cidr": "Fn::Cidr", "!ImportValue": "Fn::ImportValue", "!Condition": "Condition",
}

func (t *template) errorf(n *yaml.Node, format string, args ...any) {
	t.errs = append(t.errs, Error{Pos: Pos{File: t.file, Line: n.Line, Col: n.Column}, Msg: fmt.Sprintf(format, args...)})
}

func (t *template) note(n *yaml.Node, kind, subject, format string, args ...any) {
	t.notes = append(t.notes, Note{Pos: Pos{File: t.file, Line: n.Line, Col: n.Column}, Kind: kind, Subject: subject, Msg: fmt.Sprintf(format, args...)})
}

func rng(file string, n *yaml.Node) hcl.Range {
	p := hcl.Pos{Line: n.Line, Column: n.Column}
	return hcl.Range{Filename: file, Start: p, End: p}
}

// mapping is a mapping node's keys and values, in order.
func mapping(n *yaml.Node) ([]*yaml.Node, map[string]*yaml.Node) {
	var keys []*yaml.Node
	vals := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, vals
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i])
		vals[n.Content[i].Value] = n.Content[i+1]
	}
	return keys, vals
}

// evalTemplate evaluates the template's resources into instances shaped as
// the Terraform resources the mapping reads.
func evalTemplate(file string, data []byte, o Options) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &Errors{List: []Error{{Pos: Pos{File: file, Line: line}, Msg: "template syntax: " + strings.TrimPrefix(msg, "yaml: ")}}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Errors{List: []Error{{Pos: Pos{File: file}, Msg: "not a CloudFormation template: the file is not a mapping with Resources"}}}
	}
	root := doc.Content[0]
	_, top := mapping(root)
	t := &template{file: file, params: map[string]cty.Value{}, mappings: top["Mappings"], conditions: map[string]*yaml.Node{},
		condVals: map[string]cty.Value{}, resources: map[string]*yaml.Node{}, region: DefaultRegion, evaluating: map[string]bool{}}
	if top["Resources"] == nil || top["Resources"].Kind != yaml.MappingNode {
		return nil, &Errors{List: []Error{{Pos: Pos{File: file, Line: root.Line}, Msg: "not a CloudFormation template: no Resources mapping"}}}
	}
	t.region = guessRegion(root)
	given := map[string]string{}
	for _, kv := range o.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, &Errors{List: []Error{{Pos: Pos{File: "-var " + kv}, Msg: "give -var as NAME=VALUE"}}}
		}
		given[k] = v
	}
	pkeys, pvals := mapping(top["Parameters"])
	for _, k := range pkeys {
		_, p := mapping(pvals[k.Value])
		typ := ""
		if p["Type"] != nil {
			typ = p["Type"].Value
		}
		switch v, ok := given[k.Value]; {
		case ok:
			t.params[k.Value] = paramVal(typ, v)
			delete(given, k.Value)
		case p["Default"] != nil && strings.HasPrefix(typ, "AWS::SSM::Parameter::Value"):
			t.note(k, Offline, "Parameters."+k.Value, "an SSM parameter's value needs AWS; %s taken", PlaceholderAMI)
			t.params[k.Value] = cty.StringVal(PlaceholderAMI)
		case p["Default"] != nil:
			t.params[k.Value] = paramVal(typ, p["Default"].Value)
		default:
			t.note(k, Offline, "Parameters."+k.Value, "no default and no value given (-var %s=...): taken as unknown, so what depends on it takes a stated default", k.Value)
			t.params[k.Value] = cty.UnknownVal(cty.String)
		}
	}
	for k := range given {
		return nil, &Errors{List: []Error{{Pos: Pos{File: "-var " + k}, Msg: fmt.Sprintf("the template has no parameter %q", k)}}}
	}
	ckeys, cvals := mapping(top["Conditions"])
	for _, k := range ckeys {
		t.conditions[k.Value] = cvals[k.Value]
	}
	rkeys, rvals := mapping(top["Resources"])
	for _, k := range rkeys {
		t.resources[k.Value] = rvals[k.Value]
	}
	var instances []*Instance
	for seq, k := range rkeys {
		if inst := t.resource(k, rvals[k.Value], seq); inst != nil {
			instances = append(instances, inst)
		}
	}
	// a warm pool is its own resource in CloudFormation, a block of the group in Terraform
	var kept []*Instance
	for _, i := range instances {
		if i.Type != "aws_autoscaling_warm_pool" {
			kept = append(kept, i)
			continue
		}
		v := i.Body.Attrs["AutoScalingGroupName"]
		attached := false
		for _, g := range instances {
			if g.Type == "aws_autoscaling_group" && v != nil && isStr(v.V) && v.V.AsString() == g.Name {
				wp := &Body{Attrs: map[string]*Val{}, Rng: i.Body.Rng}
				ren := map[string]string{"PoolState": "pool_state", "MinSize": "min_size", "MaxGroupPreparedCapacity": "max_group_prepared_capacity"}
				for k, a := range i.Body.Attrs {
					if tk, ok := ren[k]; ok {
						wp.Attrs[tk] = a
					}
				}
				if rp := i.Body.Attrs["InstanceReusePolicy"]; rp != nil && rp.V.Type().IsObjectType() && rp.V.Type().HasAttribute("ReuseOnScaleIn") {
					wp.Blocks = append(wp.Blocks, &Block{Type: "instance_reuse_policy", Rng: rp.Rng, Body: &Body{Attrs: map[string]*Val{"reuse_on_scale_in": {V: rp.V.GetAttr("ReuseOnScaleIn"), Rng: rp.Rng}}}})
				}
				g.Body.Blocks = append(g.Body.Blocks, &Block{Type: "warm_pool", Body: wp, Rng: i.Decl})
				attached = true
			}
		}
		if !attached {
			kept = append(kept, i)
		}
	}
	if len(t.errs) > 0 {
		sortErrors(t.errs)
		return nil, &Errors{List: t.errs}
	}
	return &Config{Dir: file, Region: t.region, Instances: kept, Notes: t.notes}, nil
}

// guessRegion is the region of the first literal zone name in the template.
func guessRegion(n *yaml.Node) string {
	re := regexp.MustCompile(`^([a-z]{2}(-gov)?-[a-z]+-[0-9]+)[a-z]$`)
	var found string
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if found != "" || n == nil {
			return
		}
		if n.Kind == yaml.ScalarNode {
			if m := re.FindStringSubmatch(n.Value); m != nil {
				found = m[1]
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if found == "" {
		return DefaultRegion
	}
	return found
}

func paramVal(typ, v string) cty.Value {
	switch {
	case typ == "Number":
		if f, ok := new(big.Float).SetString(v); ok {
			return cty.NumberVal(f)
		}
	case strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList":
		var out []cty.Value
		for _, s := range strings.Split(v, ",") {
			out = append(out, cty.StringVal(strings.TrimSpace(s)))
		}
		return cty.TupleVal(out)
	}
	return cty.StringVal(v)
}

// resource evaluates one resource into an instance.
func (t *template) resource(k, n *yaml.Node, seq int) *Instance {
	_, r := mapping(n)
	if r["Type"] == nil {
		t.errorf(n, "Resources.%s: Type is required", k.Value)
		return nil
	}
	typ := r["Type"].Value
	if c := r["Condition"]; c != nil {
		v := t.condition(c.Value, c)
		if v.IsKnown() && !v.True() {
			t.note(k, NotModelled, k.Value, "condition %s is false: the resource is not created", c.Value)
			return nil
		}
	}
	tfType, ok := cfnTypes[typ]
	if !ok {
		tfType = typ
	}
	name := k.Value
	body := &Body{Attrs: map[string]*Val{}, Rng: rng(t.file, k)}
	_, pr := mapping(r["Properties"])
	pkeys, _ := mapping(r["Properties"])
	ren := props[tfType]
	for _, pk := range pkeys {
		pn := pr[pk.Value]
		v := t.eval(pn)
		if v.IsNull() && !v.Type().Equals(cty.DynamicPseudoType) {
			continue
		}
		at := rng(t.file, pk)
		if t.special(tfType, pk.Value, v, at, pn, body) {
			continue
		}
		key := pk.Value
		if tk, ok := ren[key]; ok {
			key = tk
		}
		body.Attrs[key] = &Val{V: v, Rng: at}
	}
	// resource attributes that change behaviour are listed when the
	// resource is rehearsed (UpdatePolicy, CreationPolicy)
	for _, ra := range []string{"UpdatePolicy", "CreationPolicy"} {
		if n := r[ra]; n != nil {
			body.Attrs[ra] = &Val{V: cty.StringVal("set"), Rng: rng(t.file, n)}
		}
	}
	inst := &Instance{Mode: "resource", Type: tfType, Name: name, Addr: k.Value, Key: cty.NilVal, Body: body, Decl: rng(t.file, k), seq: seq}
	obj := body.object()
	obj["id"], obj["arn"], obj["name"] = cty.StringVal(name), cty.StringVal(name), cty.StringVal(name)
	inst.Value = cty.ObjectVal(obj)
	return inst
}

// special translates the properties that are lists of key-value pairs or
// nested structures in CloudFormation and blocks in Terraform.
func (t *template) special(tfType, key string, v cty.Value, at hcl.Range, pn *yaml.Node, b *Body) bool {
	// within is where an element or key of the property is written
	within := func(path ...any) hcl.Range { return t.within(pn, at, path...) }
	attrAt := func(name string, val cty.Value, r hcl.Range) { b.Attrs[name] = &Val{V: val, Rng: r} }
	attr := func(name string, val cty.Value) { attrAt(name, val, at) }
	block := func(typ string, attrs map[string]cty.Value) *Body {
		bb := &Body{Attrs: map[string]*Val{}, Rng: at}
		for k, val := range attrs {
			bb.Attrs[k] = &Val{V: val, Rng: at}
		}
		b.Blocks = append(b.Blocks, &Block{Type: typ, Body: bb, Rng: at})
		return bb
	}
	get := func(o cty.Value, k string) cty.Value {
		if o.IsKnown() && !o.IsNull() && o.Type().IsObjectType() && o.Type().HasAttribute(k) {
			return o.GetAttr(k)
		}
		return cty.NullVal(cty.DynamicPseudoType)
	}
	type pair struct {
		k, v cty.Value
		at   hcl.Range
	}
	pairs := func(list cty.Value, kName, vName string) []pair {
		var out []pair
		if !list.IsKnown() || list.IsNull() || !list.CanIterateElements() {
			return nil
		}
		i := 0
		for it := list.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if k := get(e, kName); isStr(k) {
				out = append(out, pair{k, get(e, vName), within(i)})
			}
		}
		return out
	}
	each := func(list cty.Value, fn func(cty.Value)) {
		if list.IsKnown() && !list.IsNull() && list.CanIterateElements() {
			for it := list.ElementIterator(); it.Next(); {
				_, e := it.Element()
				fn(e)
			}
		}
	}
	switch tfType + "." + key {
	case "aws_lb.LoadBalancerAttributes":
		for _, p := range pairs(v, "Key", "Value") {
			if p.k.AsString() == "idle_timeout.timeout_seconds" {
				attrAt("idle_timeout", p.v, p.at)
			} else {
				attrAt(p.k.AsString(), p.v, p.at)
			}
		}
		return true
	case "aws_lb.Scheme":
		attr("internal", cty.BoolVal(isStr(v) && v.AsString() == "internal"))
		return true
	case "aws_lb.SubnetMappings":
		each(v, func(e cty.Value) { block("subnet_mapping", map[string]cty.Value{"subnet_id": get(e, "SubnetId")}) })
		return true
	case "aws_lb_listener.DefaultActions":
		each(v, func(e cty.Value) {
			a := block("default_action", map[string]cty.Value{"type": get(e, "Type"), "target_group_arn": get(e, "TargetGroupArn")})
			if fc := get(e, "ForwardConfig"); !fc.IsNull() {
				fb := &Body{Attrs: map[string]*Val{}, Rng: at}
				each(get(fc, "TargetGroups"), func(tg cty.Value) {
					fb.Blocks = append(fb.Blocks, &Block{Type: "target_group", Rng: at, Body: &Body{Attrs: map[string]*Val{
						"arn": {V: get(tg, "TargetGroupArn"), Rng: at}, "weight": {V: get(tg, "Weight"), Rng: at}}}})
				})
				if st := get(fc, "TargetGroupStickinessConfig"); !st.IsNull() {
					fb.Blocks = append(fb.Blocks, &Block{Type: "stickiness", Rng: at, Body: &Body{Attrs: map[string]*Val{"enabled": {V: get(st, "Enabled"), Rng: at}}}})
				}
				a.Blocks = append(a.Blocks, &Block{Type: "forward", Body: fb, Rng: at})
			}
		})
		return true
	case "aws_lb_target_group.TargetGroupAttributes":
		tgh := map[string]map[string]cty.Value{}
		var stick map[string]cty.Value
		for _, p := range pairs(v, "Key", "Value") {
			k := p.k.AsString()
			switch {
			case tgAttributes[k] != "":
				attrAt(tgAttributes[k], p.v, p.at)
			case strings.HasPrefix(k, "target_group_health."):
				parts := strings.Split(k, ".") // target_group_health.dns_failover.minimum_healthy_targets.count
				if len(parts) == 4 {
					if tgh[parts[1]] == nil {
						tgh[parts[1]] = map[string]cty.Value{}
					}
					tgh[parts[1]]["minimum_healthy_targets_"+parts[3]] = p.v
				}
			case strings.HasPrefix(k, "stickiness."):
				if stick == nil {
					stick = map[string]cty.Value{}
				}
				stick[strings.TrimPrefix(k, "stickiness.")] = p.v
			default:
				attrAt(k, p.v, p.at)
			}
		}
		if len(tgh) > 0 {
			hb := block("target_group_health", nil)
			names := make([]string, 0, len(tgh))
			for n := range tgh {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				bb := &Body{Attrs: map[string]*Val{}, Rng: at}
				for k, val := range tgh[n] {
					bb.Attrs[k] = &Val{V: val, Rng: at}
				}
				hb.Blocks = append(hb.Blocks, &Block{Type: n, Body: bb, Rng: at})
			}
		}
		if stick != nil {
			block("stickiness", stick)
		}
		return true
	case "aws_lb_target_group.HealthCheckEnabled", "aws_lb_target_group.HealthCheckPath", "aws_lb_target_group.HealthCheckPort",
		"aws_lb_target_group.HealthCheckProtocol", "aws_lb_target_group.HealthCheckIntervalSeconds", "aws_lb_target_group.HealthCheckTimeoutSeconds",
		"aws_lb_target_group.HealthyThresholdCount", "aws_lb_target_group.UnhealthyThresholdCount", "aws_lb_target_group.Matcher":
		var hc *Body
		for _, blk := range b.Blocks {
			if blk.Type == "health_check" {
				hc = blk.Body
			}
		}
		if hc == nil {
			hc = block("health_check", nil)
		}
		name := map[string]string{"HealthCheckEnabled": "enabled", "HealthCheckPath": "path", "HealthCheckPort": "port", "HealthCheckProtocol": "protocol",
			"HealthCheckIntervalSeconds": "interval", "HealthCheckTimeoutSeconds": "timeout", "HealthyThresholdCount": "healthy_threshold",
			"UnhealthyThresholdCount": "unhealthy_threshold", "Matcher": "matcher"}[key]
		if key == "Matcher" {
			v = get(v, "HttpCode")
		}
		hc.Attrs[name] = &Val{V: v, Rng: at}
		return true
	case "aws_launch_template.LaunchTemplateData":
		if !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() {
			return false
		}
		ren := map[string]string{"InstanceType": "instance_type", "ImageId": "image_id", "UserData": "user_data", "SecurityGroupIds": "vpc_security_group_ids",
			"MetadataOptions": "metadata_options", "TagSpecifications": "tag_specifications", "KeyName": "key_name", "IamInstanceProfile": "iam_instance_profile",
			"BlockDeviceMappings": "block_device_mappings", "NetworkInterfaces": "network_interfaces", "CreditSpecification": "credit_specification", "EbsOptimized": "ebs_optimized"}
		for k := range v.Type().AttributeTypes() {
			val, r := v.GetAttr(k), within(k)
			if k == "Monitoring" {
				mb := block("monitoring", nil)
				mb.Attrs["enabled"] = &Val{V: get(val, "Enabled"), Rng: t.within(pn, r, k, "Enabled")}
				continue
			}
			if tk, ok := ren[k]; ok {
				k = tk
			}
			attrAt(k, val, r)
		}
		return true
	case "aws_autoscaling_group.LaunchTemplate":
		block("launch_template", map[string]cty.Value{"id": get(v, "LaunchTemplateId"), "name": get(v, "LaunchTemplateName"), "version": get(v, "Version")})
		return true
	case "aws_autoscaling_group.MixedInstancesPolicy":
		lt := get(v, "LaunchTemplate")
		spec := get(lt, "LaunchTemplateSpecification")
		mip := block("mixed_instances_policy", nil)
		ltb := &Body{Attrs: map[string]*Val{}, Rng: at}
		ltb.Blocks = append(ltb.Blocks, &Block{Type: "launch_template_specification", Rng: at, Body: &Body{Attrs: map[string]*Val{
			"launch_template_id": {V: get(spec, "LaunchTemplateId"), Rng: at}, "launch_template_name": {V: get(spec, "LaunchTemplateName"), Rng: at}, "version": {V: get(spec, "Version"), Rng: at}}}})
		each(get(lt, "Overrides"), func(cty.Value) {
			ltb.Blocks = append(ltb.Blocks, &Block{Type: "override", Rng: at, Body: &Body{Attrs: map[string]*Val{}}})
		})
		mip.Blocks = append(mip.Blocks, &Block{Type: "launch_template", Body: ltb, Rng: at})
		return true
	case "aws_autoscaling_group.LifecycleHookSpecificationList":
		each(v, func(e cty.Value) {
			block("initial_lifecycle_hook", map[string]cty.Value{"name": get(e, "LifecycleHookName"), "lifecycle_transition": get(e, "LifecycleTransition"),
				"heartbeat_timeout": get(e, "HeartbeatTimeout"), "default_result": get(e, "DefaultResult"),
				"notification_target_arn": get(e, "NotificationTargetARN"), "role_arn": get(e, "RoleARN"), "notification_metadata": get(e, "NotificationMetadata")})
		})
		return true
	case "aws_autoscaling_group.InstanceMaintenancePolicy":
		block("instance_maintenance_policy", map[string]cty.Value{"min_healthy_percentage": get(v, "MinHealthyPercentage"), "max_healthy_percentage": get(v, "MaxHealthyPercentage")})
		return true
	case "aws_autoscaling_group.AvailabilityZoneDistribution":
		block("availability_zone_distribution", map[string]cty.Value{"capacity_distribution_strategy": get(v, "CapacityDistributionStrategy")})
		return true
	case "aws_autoscaling_policy.StepAdjustments":
		each(v, func(e cty.Value) {
			block("step_adjustment", map[string]cty.Value{"metric_interval_lower_bound": get(e, "MetricIntervalLowerBound"),
				"metric_interval_upper_bound": get(e, "MetricIntervalUpperBound"), "scaling_adjustment": get(e, "ScalingAdjustment")})
		})
		return true
	case "aws_autoscaling_policy.TargetTrackingConfiguration":
		tt := block("target_tracking_configuration", map[string]cty.Value{"target_value": get(v, "TargetValue"), "disable_scale_in": get(v, "DisableScaleIn")})
		if pm := get(v, "PredefinedMetricSpecification"); !pm.IsNull() {
			tt.Blocks = append(tt.Blocks, &Block{Type: "predefined_metric_specification", Rng: at, Body: &Body{Attrs: map[string]*Val{
				"predefined_metric_type": {V: get(pm, "PredefinedMetricType"), Rng: at}, "resource_label": {V: get(pm, "ResourceLabel"), Rng: at}}}})
		}
		if cm := get(v, "CustomizedMetricSpecification"); !cm.IsNull() {
			tt.Blocks = append(tt.Blocks, &Block{Type: "customized_metric_specification", Rng: at, Body: &Body{Attrs: map[string]*Val{}}})
		}
		return true
	case "aws_cloudwatch_metric_alarm.Dimensions":
		m := map[string]cty.Value{}
		for _, p := range pairs(v, "Name", "Value") {
			m[p.k.AsString()] = p.v
		}
		attr("dimensions", cty.ObjectVal(m))
		return true
	case "aws_cloudwatch_metric_alarm.Metrics":
		block("metric_query", nil)
		return true
	}
	return false
}

// within is where the element or key at path is written inside the
// property node n (keys are strings, list elements ints); def where the
// path cannot be followed (an intrinsic function in the way).
func (t *template) within(n *yaml.Node, def hcl.Range, path ...any) hcl.Range {
	for _, step := range path {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil {
			return def
		}
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return def
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					next = n.Content[i+1]
					def = rng(t.file, n.Content[i])
				}
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return def
			}
			n = n.Content[s]
			def = rng(t.file, n)
		}
	}
	return def
}

// eval evaluates a template value with its intrinsic functions.
func (t *template) eval(n *yaml.Node) cty.Value {
	if n == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if n.Kind == yaml.AliasNode {
		return t.eval(n.Alias)
	}
	if fn, ok := shortForms[n.Tag]; ok {
		arg := *n
		arg.Tag = ""
		switch arg.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return t.intrinsic(fn, &arg, n)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return cty.NullVal(cty.DynamicPseudoType)
		case "!!bool":
			return cty.BoolVal(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
		case "!!int", "!!float":
			if f, ok := new(big.Float).SetString(n.Value); ok {
				return cty.NumberVal(f)
			}
		}
		return cty.StringVal(n.Value)
	case yaml.SequenceNode:
		var out []cty.Value
		for _, c := range n.Content {
			if v := t.eval(c); !(v.IsKnown() && v.IsNull() && isNoValue(c)) {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return cty.EmptyTupleVal
		}
		return cty.TupleVal(out)
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k := n.Content[0].Value
			if k == "Ref" || strings.HasPrefix(k, "Fn::") || (k == "Condition" && n.Content[1].Kind == yaml.ScalarNode && t.conditions[n.Content[1].Value] != nil) {
				return t.intrinsic(k, n.Content[1], n)
			}
		}
		obj := map[string]cty.Value{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := t.eval(n.Content[i+1])
			if v.IsKnown() && v.IsNull() && isNoValue(n.Content[i+1]) {
				continue
			}
			obj[n.Content[i].Value] = v
		}
		return cty.ObjectVal(obj)
	}
	return cty.DynamicVal
}

func isNoValue(n *yaml.Node) bool {
	if n.Tag == "!Ref" && n.Value == "AWS::NoValue" {
		return true
	}
	return n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref" && n.Content[1].Value == "AWS::NoValue"
}

func (t *template) strArg(v cty.Value) (string, bool) {
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	case cty.Bool:
		return strconv.FormatBool(v.True()), true
	}
	return "", false
}

func (t *template) list(v cty.Value) []cty.Value {
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil
	}
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e)
	}
	return out
}

// intrinsic evaluates one intrinsic function; at is where it is written.
func (t *template) intrinsic(fn string, arg, at *yaml.Node) cty.Value {
	switch fn {
	case "Ref":
		return t.ref(arg.Value, at)
	case "Condition":
		return t.condition(arg.Value, at)
	case "Fn::GetAtt":
		var res, attr string
		if arg.Kind == yaml.ScalarNode {
			res, attr, _ = strings.Cut(arg.Value, ".")
		} else if len(arg.Content) == 2 {
			res, attr = arg.Content[0].Value, t.evalStr(arg.Content[1])
		}
		r := t.resources[res]
		if r == nil {
			t.errorf(at, "Fn::GetAtt: reference to undeclared resource %s", res)
			return cty.DynamicVal
		}
		switch attr {
		case "LatestVersionNumber", "DefaultVersionNumber":
			return cty.StringVal("1")
		case "CidrBlock":
			_, rr := mapping(r)
			_, p := mapping(rr["Properties"])
			if p["CidrBlock"] != nil {
				return t.eval(p["CidrBlock"])
			}
		}
		return cty.StringVal(res + "." + attr)
	case "Fn::Sub":
		tmpl := arg
		vars := map[string]cty.Value{}
		if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
			tmpl = arg.Content[0]
			keys, vals := mapping(arg.Content[1])
			for _, k := range keys {
				vars[k.Value] = t.eval(vals[k.Value])
			}
		}
		if tmpl.Kind != yaml.ScalarNode {
			t.errorf(at, "Fn::Sub takes a string, or a string and a mapping of variables")
			return cty.DynamicVal
		}
		return t.sub(tmpl.Value, vars, at)
	case "Fn::Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Select takes an index and a list")
			return cty.DynamicVal
		}
		iv, lv := t.eval(arg.Content[0]), t.eval(arg.Content[1])
		s, ok := t.strArg(iv)
		items := t.list(lv)
		if !ok || !lv.IsWhollyKnown() {
			return cty.DynamicVal
		}
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(items) {
			t.errorf(at, "Fn::Select: index %s is outside the list of %d", s, len(items))
			return cty.DynamicVal
		}
		return items[i]
	case "Fn::GetAZs":
		region := t.evalStr(arg)
		if region == "" {
			region = t.region
		}
		e := &evaluator{region: region}
		var out []cty.Value
		for _, z := range e.zoneNames() {
			out = append(out, cty.StringVal(z))
		}
		return cty.TupleVal(out)
	case "Fn::Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Join takes a separator and a list")
			return cty.DynamicVal
		}
		sep := t.evalStr(arg.Content[0])
		lv := t.eval(arg.Content[1])
		if !lv.IsWhollyKnown() {
			return cty.UnknownVal(cty.String)
		}
		var parts []string
		for _, e := range t.list(lv) {
			s, _ := t.strArg(e)
			parts = append(parts, s)
		}
		return cty.StringVal(strings.Join(parts, sep))
	case "Fn::Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Split takes a separator and a string")
			return cty.DynamicVal
		}
		sv := t.eval(arg.Content[1])
		s, ok := t.strArg(sv)
		if !ok {
			return cty.DynamicVal
		}
		var out []cty.Value
		for _, p := range strings.Split(s, t.evalStr(arg.Content[0])) {
			out = append(out, cty.StringVal(p))
		}
		return cty.TupleVal(out)
	case "Fn::Base64":
		v := t.eval(arg)
		s, ok := t.strArg(v)
		if !ok {
			return cty.UnknownVal(cty.String)
		}
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(s)))
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			t.errorf(at, "Fn::If takes a condition name and two values")
			return cty.DynamicVal
		}
		c := t.condition(arg.Content[0].Value, arg.Content[0])
		if !c.IsKnown() {
			return cty.DynamicVal
		}
		if c.True() {
			return t.eval(arg.Content[1])
		}
		return t.eval(arg.Content[2])
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Equals takes two values")
			return cty.DynamicVal
		}
		a, b := t.eval(arg.Content[0]), t.eval(arg.Content[1])
		as, ok1 := t.strArg(a)
		bs, ok2 := t.strArg(b)
		if !ok1 || !ok2 {
			return cty.UnknownVal(cty.Bool)
		}
		return cty.BoolVal(as == bs)
	case "Fn::Not", "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) == 0 {
			t.errorf(at, "%s takes a list of conditions", fn)
			return cty.DynamicVal
		}
		res := fn == "Fn::And"
		for _, c := range arg.Content {
			v := t.eval(c)
			if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
				return cty.UnknownVal(cty.Bool)
			}
			switch fn {
			case "Fn::Not":
				return cty.BoolVal(!v.True())
			case "Fn::And":
				res = res && v.True()
			case "Fn::Or":
				res = res || v.True()
			}
		}
		return cty.BoolVal(res)
	case "Fn::FindInMap":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 3 {
			t.errorf(at, "Fn::FindInMap takes a map name and two keys")
			return cty.DynamicVal
		}
		_, maps := mapping(t.mappings)
		_, top := mapping(maps[t.evalStr(arg.Content[0])])
		_, second := mapping(top[t.evalStr(arg.Content[1])])
		v := second[t.evalStr(arg.Content[2])]
		if v == nil {
			t.errorf(at, "Fn::FindInMap: no %s.%s.%s in Mappings", t.evalStr(arg.Content[0]), t.evalStr(arg.Content[1]), t.evalStr(arg.Content[2]))
			return cty.DynamicVal
		}
		return t.eval(v)
	case "Fn::Cidr":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			t.errorf(at, "Fn::Cidr takes an address block, a count and the host bits")
			return cty.DynamicVal
		}
		block := t.evalStr(arg.Content[0])
		count, err1 := strconv.Atoi(t.evalStr(arg.Content[1]))
		bits, err2 := strconv.Atoi(t.evalStr(arg.Content[2]))
		p, err3 := netip.ParsePrefix(block)
		if block == "" || block == unknownMarker {
			return cty.DynamicVal
		}
		if err1 != nil || err2 != nil || err3 != nil || count < 1 || count > 256 {
			t.errorf(at, "Fn::Cidr: %q, %s, %s is not an address block, a count (1-256) and host bits", block, t.evalStr(arg.Content[1]), t.evalStr(arg.Content[2]))
			return cty.DynamicVal
		}
		p = p.Masked()
		newbits := p.Addr().BitLen() - bits - p.Bits()
		var out []cty.Value
		for i := 0; i < count; i++ {
			s, err := subnet(p, newbits, big.NewInt(int64(i)))
			if err != nil {
				t.errorf(at, "Fn::Cidr: %v", err)
				return cty.DynamicVal
			}
			out = append(out, cty.StringVal(s.String()))
		}
		return cty.TupleVal(out)
	case "Fn::ImportValue":
		t.note(at, Offline, "Fn::ImportValue", "another stack's export cannot be read offline: unknown, so what depends on it takes a stated default")
		return cty.DynamicVal
	}
	t.note(at, Offline, fn, "this intrinsic function is not evaluated offline: unknown, so what depends on it takes a stated default")
	return cty.DynamicVal
}

// evalStr is a value as text ("" when it is not known).
func (t *template) evalStr(n *yaml.Node) string {
	s, ok := t.strArg(t.eval(n))
	if !ok {
		return ""
	}
	return s
}

func (t *template) ref(name string, at *yaml.Node) cty.Value {
	switch name {
	case "AWS::Region":
		return cty.StringVal(t.region)
	case "AWS::AccountId":
		return cty.StringVal("000000000000")
	case "AWS::StackName", "AWS::StackId":
		return cty.StringVal("lab")
	case "AWS::Partition":
		return cty.StringVal("aws")
	case "AWS::URLSuffix":
		return cty.StringVal("amazonaws.com")
	case "AWS::NoValue":
		return cty.NullVal(cty.DynamicPseudoType)
	case "AWS::NotificationARNs":
		return cty.EmptyTupleVal
	}
	if v, ok := t.params[name]; ok {
		return v
	}
	if _, ok := t.resources[name]; ok {
		return cty.StringVal(name)
	}
	t.errorf(at, "Ref: reference to undeclared parameter or resource %s", name)
	return cty.DynamicVal
}

func (t *template) condition(name string, at *yaml.Node) cty.Value {
	if v, ok := t.condVals[name]; ok {
		return v
	}
	n := t.conditions[name]
	if n == nil {
		t.errorf(at, "condition %s is not declared under Conditions", name)
		return cty.UnknownVal(cty.Bool)
	}
	if t.evaluating[name] {
		t.errorf(at, "cycle: condition %s refers to itself", name)
		return cty.UnknownVal(cty.Bool)
	}
	t.evaluating[name] = true
	v := t.eval(n)
	delete(t.evaluating, name)
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		v = cty.UnknownVal(cty.Bool)
	}
	t.condVals[name] = v
	return v
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub is Fn::Sub: ${Name} a parameter, resource or variable, ${Res.Attr}
// an attribute, ${!Literal} the text ${Literal}.
func (t *template) sub(s string, vars map[string]cty.Value, at *yaml.Node) cty.Value {
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v cty.Value
		if vv, ok := vars[name]; ok {
			v = vv
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			if _, declared := t.resources[res]; !declared {
				t.errorf(at, "Fn::Sub: reference to undeclared resource %s", res)
				return m
			}
			v = cty.StringVal(res + "." + attr)
		} else {
			v = t.ref(name, at)
		}
		str, ok := t.strArg(v)
		if !ok {
			return unknownMarker
		}
		return str
	})
	return cty.StringVal(out)
}
