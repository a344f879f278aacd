package export

import (
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// cfnUserDataFor is the user data for Fn::Sub: only ${param} (the image
// parameter: ContainerImage, or a service's own) is substituted, every
// other ${ is escaped as ${!.
func cfnUserDataFor(s *stack.Stack, param string) string {
	ud := strings.ReplaceAll(UserData(s, imageToken), "${", "${!")
	return strings.Replace(ud, imageToken, "${"+param+"}", 1)
}

func cfnCompute(res *obj, s *stack.Stack) {
	svcs := cfnServices(s)
	var ingress []any
	for _, sv := range svcs {
		ingress = append(ingress, obj{
			{key: "IpProtocol", val: "tcp"}, {key: "SourceSecurityGroupId", val: getAtt("AlbSecurityGroup", "GroupId")},
			{key: "FromPort", val: sv.st.TargetGroup.Port, comment: sv.f("target_group.port")}, {key: "ToPort", val: sv.st.TargetGroup.Port}})
		if p := healthCheckPort(sv.st); p != 0 {
			ingress = append(ingress, obj{
				{key: "IpProtocol", val: "tcp"}, {key: "SourceSecurityGroupId", val: getAtt("AlbSecurityGroup", "GroupId")},
				{key: "FromPort", val: p, comment: sv.f("target_group.health_check.port")}, {key: "ToPort", val: p}})
		}
	}
	res.set("InstanceSecurityGroup", resource("AWS::EC2::SecurityGroup", obj{
		{key: "GroupDescription", val: "Instances of " + s.Name + ": the app port from the ALB only"},
		{key: "VpcId", val: ref("VPC")},
		{key: "SecurityGroupIngress", val: ingress},
		{key: "SecurityGroupEgress", val: []any{obj{{key: "IpProtocol", val: "-1"}, {key: "CidrIp", val: "0.0.0.0/0"}}},
			comment: "Out through NAT: packages and the image."}}),
		"Compute: the instances' security group (traffic only from the ALB), the launch template, the Auto Scaling group.")
	for _, sv := range svcs {
		cfnServiceCompute(res, sv)
	}
}

// cfnServiceCompute adds one service's launch template and group.
func cfnServiceCompute(res *obj, sv cfnSvc) {
	s := sv.st
	lt, g := s.LaunchTemplate, s.AutoScalingGroup
	res.set(sv.id("LaunchTemplate"), resource("AWS::EC2::LaunchTemplate", obj{
		{key: "LaunchTemplateData", val: obj{
			{key: "ImageId", val: ref("AmiId")},
			{key: "InstanceType", val: lt.InstanceType, comment: "launch_template.instance_type"},
			{key: "SecurityGroupIds", val: []any{getAtt("InstanceSecurityGroup", "GroupId")}},
			{key: "UserData", val: fn("Base64", sub(cfnUserDataFor(s, sv.id("ContainerImage")))),
				comment: fmt.Sprintf("Installs Docker and runs %s with %s and %s.", sv.id("ContainerImage"), sv.f("launch_template.port"), sv.f("launch_template.environment"))},
			{key: "Monitoring", val: obj{{key: "Enabled", val: lt.Monitoring == stack.MonitoringDetailed, comment: sv.f("launch_template.monitoring")}},
				comment: monitoringComment(lt.Monitoring)},
			{key: "MetadataOptions", val: obj{{key: "HttpTokens", val: "required"}}},
			{key: "TagSpecifications", val: []any{obj{
				{key: "ResourceType", val: "instance"}, {key: "Tags", val: nameTags(s.Name)}}}}}}}),
		strings.Join(labOnly(s, sv.id("ContainerImage")), "\n"))

	asg := obj{
		{key: "AutoScalingGroupName", val: s.Name},
		{key: "MinSize", val: strVal(g.MinSize), comment: "auto_scaling_group: min_size, max_size, desired_capacity"},
		{key: "MaxSize", val: strVal(g.MaxSize)},
		{key: "DesiredCapacity", val: strVal(g.DesiredCapacity)},
		{key: "VPCZoneIdentifier", val: zoneRefs(s, "PrivateSubnet")},
		{key: "TargetGroupARNs", val: []any{ref(sv.id("TargetGroup"))}},
		{key: "HealthCheckType", val: g.HealthCheckType, comment: "auto_scaling_group.health_check_type, .health_check_grace_period, .default_cooldown"},
		{key: "HealthCheckGracePeriod", val: secs(g.HealthCheckGracePeriod)},
		{key: "Cooldown", val: strVal(secs(g.DefaultCooldown))},
	}
	if g.DefaultInstanceWarmup != nil {
		asg.set("DefaultInstanceWarmup", secs(*g.DefaultInstanceWarmup), "auto_scaling_group.default_instance_warmup")
	}
	asg.set("TerminationPolicies", g.TerminationPolicies, "auto_scaling_group.termination_policies")
	if hooks := cfnHooks(s); len(hooks) > 0 {
		asg.set("LifecycleHookSpecificationList", hooks, "auto_scaling_group.lifecycle_hooks: nothing completes the action here, so each instance waits the heartbeat timeout, as in the lab.")
	}
	asg.set("LaunchTemplate", obj{
		{key: "LaunchTemplateId", val: ref(sv.id("LaunchTemplate"))},
		{key: "Version", val: getAtt(sv.id("LaunchTemplate"), "LatestVersionNumber")}})
	asg.set("Tags", []any{obj{{key: "Key", val: "Name"}, {key: "Value", val: s.Name}, {key: "PropagateAtLaunch", val: true}}})
	// Instances boot through NAT, so the private routes come first.
	var routes []string
	for _, n := range zoneNums(s) {
		routes = append(routes, fmt.Sprintf("PrivateRoute%d", n))
	}
	res.set(sv.id("AutoScalingGroup"), resource("AWS::AutoScaling::AutoScalingGroup", asg, routes...),
		sv.f("auto_scaling_group")+", in the private subnets, registered with the target group; it waits for the NAT routes the instances boot through.")
}

func cfnScaling(res *obj, s *stack.Stack) {
	for j, sv := range cfnServices(s) {
		cfnServiceScaling(res, sv, j == 0)
	}
}

// cfnServiceScaling adds one service's policies and alarms; first says it
// is the first service's (the section's comment goes on its first policy).
func cfnServiceScaling(res *obj, sv cfnSvc, first bool) {
	s := sv.st
	ids := idents(policyNames(s), true)
	for i := range ids {
		ids[i] = sv.sfx + ids[i]
	}
	for i, p := range s.ScalingPolicies {
		id := ids[i] + "Policy"
		props := obj{
			{key: "AutoScalingGroupName", val: ref(sv.id("AutoScalingGroup"))},
			{key: "PolicyType", val: p.PolicyType},
		}
		if p.AdjustmentType != "" {
			props.set("AdjustmentType", p.AdjustmentType)
		}
		if p.PolicyType == stack.SimpleScaling {
			props.set("ScalingAdjustment", p.ScalingAdjustment)
		}
		if p.MinAdjustmentMagnitude != 0 {
			props.set("MinAdjustmentMagnitude", p.MinAdjustmentMagnitude)
		}
		if p.Cooldown != nil {
			props.set("Cooldown", strVal(secs(*p.Cooldown)))
		}
		if p.EstimatedInstanceWarmup != nil {
			props.set("EstimatedInstanceWarmup", secs(*p.EstimatedInstanceWarmup))
		}
		if len(p.StepAdjustments) > 0 {
			var steps []any
			for _, st := range p.StepAdjustments {
				var o obj
				if st.LowerBound != nil {
					o.set("MetricIntervalLowerBound", *st.LowerBound)
				}
				if st.UpperBound != nil {
					o.set("MetricIntervalUpperBound", *st.UpperBound)
				}
				o.set("ScalingAdjustment", st.ScalingAdjustment)
				steps = append(steps, o)
			}
			props.set("StepAdjustments", steps, "Bounds are relative to the alarm threshold; an open bound is infinity.")
		}
		var deps []string
		if t := p.TargetTracking; t != nil {
			spec := obj{{key: "PredefinedMetricType", val: t.PredefinedMetricType}}
			if t.PredefinedMetricType == "ALBRequestCountPerTarget" {
				spec.set("ResourceLabel", join("/", getAtt("LoadBalancer", "LoadBalancerFullName"), getAtt(sv.id("TargetGroup"), "TargetGroupFullName")))
				deps = append(deps, "Listener") // the target group must be behind the listener
			}
			props.set("TargetTrackingConfiguration", obj{
				{key: "PredefinedMetricSpecification", val: spec},
				{key: "TargetValue", val: t.TargetValue},
				{key: "DisableScaleIn", val: t.DisableScaleIn}}, "AWS creates and manages this policy's alarms.")
		}
		comment := fmt.Sprintf("%sscaling_policies[%d] %s (%s)", sv.prefix, i, p.Name, p.PolicyType)
		if i == 0 && first {
			comment = "Scaling: every scaling_policies entry, and the alarm of each simple and step policy.\n" + comment
		}
		res.set(id, resource("AWS::AutoScaling::ScalingPolicy", props, deps...), comment)
		if a := p.Alarm; a != nil {
			var dims []any
			for _, d := range alarmDimensions(s, a) {
				v, ok := map[string]obj{
					"asg": ref(sv.id("AutoScalingGroup")),
					"lb":  getAtt("LoadBalancer", "LoadBalancerFullName"),
					"tg":  getAtt(sv.id("TargetGroup"), "TargetGroupFullName"),
				}[d.Ref]
				if !ok {
					v = cfnRDSRef(d.Ref)
				}
				dims = append(dims, obj{{key: "Name", val: d.Name}, {key: "Value", val: v}})
			}
			res.set(ids[i]+"Alarm", resource("AWS::CloudWatch::Alarm", obj{
				{key: "AlarmName", val: s.Name + "-" + p.Name},
				{key: "AlarmDescription", val: fmt.Sprintf("Runs scaling policy %s of %s.", p.Name, s.Name)},
				{key: "Namespace", val: a.Namespace},
				{key: "MetricName", val: a.MetricName},
				{key: "Statistic", val: a.Statistic},
				{key: "ComparisonOperator", val: a.ComparisonOperator},
				{key: "Threshold", val: a.Threshold},
				{key: "Period", val: secs(a.Period)},
				{key: "EvaluationPeriods", val: a.EvaluationPeriods},
				{key: "DatapointsToAlarm", val: a.DatapointsToAlarm},
				{key: "TreatMissingData", val: a.TreatMissingData},
				{key: "Dimensions", val: dims},
				{key: "AlarmActions", val: []any{ref(id)}}}),
				fmt.Sprintf("%sscaling_policies[%d].alarm", sv.prefix, i))
		}
	}
}
