package tfimport

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

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
	"AWS::RDS::DBSubnetGroup":                            "aws_db_subnet_group",
	"AWS::ElasticLoadBalancingV2::TargetGroupAttachment": "aws_lb_target_group_attachment",
}

// props renames the properties the mapping reads, per Terraform type;
// what is not listed keeps its CloudFormation name (and is listed as not
// rehearsed when the resource is).
var props = map[string]map[string]string{
	"aws_lb":               {"Name": "name", "Type": "load_balancer_type", "Subnets": "subnets", "SecurityGroups": "security_groups", "Tags": "tags", "Scheme": "scheme", "IpAddressType": "ip_address_type"},
	"aws_lb_listener":      {"LoadBalancerArn": "load_balancer_arn", "Port": "port", "Protocol": "protocol", "Certificates": "certificate_arn", "SslPolicy": "ssl_policy"},
	"aws_lb_listener_rule": {"ListenerArn": "listener_arn", "Priority": "priority"},
	"aws_lb_target_group":  {"Name": "name", "Port": "port", "Protocol": "protocol", "VpcId": "vpc_id", "TargetType": "target_type", "Tags": "tags", "ProtocolVersion": "protocol_version", "IpAddressType": "ip_address_type"},
	"aws_launch_template":  {"LaunchTemplateName": "name", "TagSpecifications": "tag_specifications"},
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
	"aws_db_instance": {"DBInstanceIdentifier": "identifier", "Engine": "engine", "EngineVersion": "engine_version", "DBInstanceClass": "instance_class",
		"MultiAZ": "multi_az", "AllocatedStorage": "allocated_storage", "StorageType": "storage_type", "Iops": "iops", "AvailabilityZone": "availability_zone",
		"Port": "port", "DBName": "db_name", "MasterUsername": "username", "MasterUserPassword": "password", "ManageMasterUserPassword": "manage_master_user_password",
		"DBSubnetGroupName": "db_subnet_group_name", "SourceDBInstanceIdentifier": "replicate_source_db", "DBClusterIdentifier": "cluster_identifier"},
	"aws_rds_cluster": {"DBClusterIdentifier": "cluster_identifier", "Engine": "engine", "EngineVersion": "engine_version", "DBClusterInstanceClass": "db_cluster_instance_class",
		"AllocatedStorage": "allocated_storage", "StorageType": "storage_type", "Iops": "iops", "Port": "port", "DatabaseName": "database_name",
		"MasterUsername": "master_username", "MasterUserPassword": "master_password", "ManageMasterUserPassword": "manage_master_user_password",
		"DBSubnetGroupName": "db_subnet_group_name", "AvailabilityZones": "availability_zones"},
	"aws_db_subnet_group": {"DBSubnetGroupName": "name", "SubnetIds": "subnet_ids", "DBSubnetGroupDescription": "description"},
}

// tgAttributes are target group attribute keys as Terraform arguments.
var tgAttributes = map[string]string{
	"deregistration_delay.timeout_seconds":        "deregistration_delay",
	"slow_start.duration_seconds":                 "slow_start",
	"load_balancing.algorithm.type":               "load_balancing_algorithm_type",
	"load_balancing.cross_zone.enabled":           "load_balancing_cross_zone_enabled",
	"load_balancing.algorithm.anomaly_mitigation": "load_balancing_anomaly_mitigation",
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
			switch p.k.AsString() {
			case "idle_timeout.timeout_seconds":
				attrAt("idle_timeout", p.v, p.at)
			case "routing.http.desync_mitigation_mode":
				attrAt("desync_mitigation_mode", p.v, p.at)
			case "routing.http.drop_invalid_header_fields.enabled":
				attrAt("drop_invalid_header_fields", p.v, p.at)
			default:
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
	case "aws_lb_listener_rule.Conditions":
		each(v, func(e cty.Value) {
			cb := block("condition", nil)
			field := get(e, "Field")
			if !isStr(field) {
				return
			}
			kind := strings.ReplaceAll(field.AsString(), "-", "_")
			cfg := get(e, map[string]string{"host_header": "HostHeaderConfig", "http_header": "HttpHeaderConfig",
				"http_request_method": "HttpRequestMethodConfig", "path_pattern": "PathPatternConfig",
				"query_string": "QueryStringConfig", "source_ip": "SourceIpConfig"}[kind])
			add := func(attrs map[string]*Val) {
				cb.Blocks = append(cb.Blocks, &Block{Type: kind, Rng: at, Body: &Body{Attrs: attrs, Rng: at}})
			}
			switch kind {
			case "query_string":
				each(get(cfg, "Values"), func(q cty.Value) {
					add(map[string]*Val{"key": {V: get(q, "Key"), Rng: at}, "value": {V: get(q, "Value"), Rng: at}})
				})
			case "http_header":
				add(map[string]*Val{"http_header_name": {V: get(cfg, "HttpHeaderName"), Rng: at}, "values": {V: get(cfg, "Values"), Rng: at}})
			default:
				add(map[string]*Val{"values": {V: get(cfg, "Values"), Rng: at}})
			}
		})
		return true
	case "aws_lb_listener.DefaultActions", "aws_lb_listener_rule.Actions":
		kind := "default_action"
		if key == "Actions" {
			kind = "action"
		}
		each(v, func(e cty.Value) {
			a := block(kind, map[string]cty.Value{"type": get(e, "Type"), "target_group_arn": get(e, "TargetGroupArn")})
			if fr := get(e, "FixedResponseConfig"); !fr.IsNull() {
				a.Blocks = append(a.Blocks, &Block{Type: "fixed_response", Rng: at, Body: &Body{Rng: at, Attrs: map[string]*Val{
					"status_code": {V: get(fr, "StatusCode"), Rng: at}, "content_type": {V: get(fr, "ContentType"), Rng: at},
					"message_body": {V: get(fr, "MessageBody"), Rng: at}}}})
			}
			if rc := get(e, "RedirectConfig"); !rc.IsNull() {
				ra := map[string]*Val{}
				for _, k := range []string{"Protocol", "Host", "Port", "Path", "Query", "StatusCode"} {
					name := strings.ToLower(k)
					if k == "StatusCode" {
						name = "status_code"
					}
					ra[name] = &Val{V: get(rc, k), Rng: at}
				}
				a.Blocks = append(a.Blocks, &Block{Type: "redirect", Rng: at, Body: &Body{Rng: at, Attrs: ra}})
			}
			if fc := get(e, "ForwardConfig"); !fc.IsNull() {
				fb := &Body{Attrs: map[string]*Val{}, Rng: at}
				each(get(fc, "TargetGroups"), func(tg cty.Value) {
					fb.Blocks = append(fb.Blocks, &Block{Type: "target_group", Rng: at, Body: &Body{Attrs: map[string]*Val{
						"arn": {V: get(tg, "TargetGroupArn"), Rng: at}, "weight": {V: get(tg, "Weight"), Rng: at}}}})
				})
				if st := get(fc, "TargetGroupStickinessConfig"); !st.IsNull() {
					fb.Blocks = append(fb.Blocks, &Block{Type: "stickiness", Rng: at, Body: &Body{Attrs: map[string]*Val{"enabled": {V: get(st, "Enabled"), Rng: at}, "duration": {V: get(st, "DurationSeconds"), Rng: at}}}})
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
