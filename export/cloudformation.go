package export

import (
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// CloudFormation writes the stack as a CloudFormation template (YAML).
// Logical ids number the zones from 1 in stack order: PublicSubnet1 is in
// the first of availability_zones.
func CloudFormation(s *stack.Stack, o Options) ([]byte, error) {
	if err := Check(s, FormatCloudFormation); err != nil {
		return nil, err
	}
	res := obj{}
	cfnNetwork(&res, s, o)
	cfnLoadBalancer(&res, s)
	cfnCompute(&res, s)
	cfnWarmPool(&res, s)
	cfnScaling(&res, s)
	cfnDatabase(&res, s)

	var t obj
	t.set("AWSTemplateFormatVersion", "2010-09-09")
	t.set("Description", fmt.Sprintf("lab stack %s: an ALB in front of an EC2 Auto Scaling group across %s.", s.Name, strings.Join(s.Zones, ", ")))
	t.set("Parameters", append(cfnParameters(s), cfnDatabaseParameters(s)...))
	t.set("Resources", res)
	t.set("Outputs", append(obj{
		{key: "LoadBalancerDNSName", val: obj{
			{key: "Description", val: fmt.Sprintf("DNS name of the ALB; the listener is on port %d.", s.LoadBalancer.ListenerPort)},
			{key: "Value", val: getAtt("LoadBalancer", "DNSName")}}},
	}, append(cfnGroupOutputs(s), cfnDatabaseOutputs(s)...)...))
	head := header(s, o, "cloudformation")
	head = append(head, "", "Left out:")
	for _, sv := range cfnServices(s) {
		if sv.multi {
			head = append(head, "  Service "+sv.st.Name+":")
		}
		for _, l := range labOnly(sv.st, sv.id("ContainerImage")) {
			head = append(head, "  "+l)
		}
	}
	return encodeYAML(strings.Join(head, "\n"), t)
}

// cfnGroupOutputs are each group's name.
func cfnGroupOutputs(s *stack.Stack) obj {
	var out obj
	for _, sv := range cfnServices(s) {
		what := "Name of the Auto Scaling group."
		if sv.multi {
			what = "Name of service " + sv.st.Name + "'s Auto Scaling group."
		}
		out = append(out, field{key: sv.id("AutoScalingGroupName"), val: obj{
			{key: "Description", val: what},
			{key: "Value", val: ref(sv.id("AutoScalingGroup"))}}})
	}
	return out
}

func cfnParameters(s *stack.Stack) obj {
	var images obj
	for _, sv := range cfnServices(s) {
		images = append(images, field{key: sv.id("ContainerImage"), val: obj{
			{key: "Type", val: "String"},
			{key: "Description", val: imageDescription(sv.st)}}})
	}
	return append(images, obj{
		{key: "VpcCidr", val: obj{
			{key: "Type", val: "String"},
			{key: "Default", val: VPCCIDR},
			{key: "AllowedPattern", val: `^(\d{1,3}\.){3}\d{1,3}/16$`},
			{key: "Description", val: "The VPC's /16; zone N gets public /24 number N and private /24 number 100+N."}}},
		{key: "AmiId", val: obj{
			{key: "Type", val: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
			{key: "Default", val: AMIParameter},
			{key: "Description", val: "The latest Amazon Linux 2023 AMI, from AWS's public SSM parameter."}}},
	}...)
}

// resource is one template resource: Type, optional DependsOn, Properties.
func resource(typ string, props obj, dependsOn ...string) obj {
	r := obj{{key: "Type", val: typ}}
	if len(dependsOn) > 0 {
		r.set("DependsOn", dependsOn)
	}
	return append(r, field{key: "Properties", val: props})
}

// subnetCIDR is /24 number n of the VPC's /16.
func subnetCIDR(n int) obj {
	return fn("Select", []any{n, fn("Cidr", []any{getAtt("VPC", "CidrBlock"), 256, 8})})
}

func cfnNetwork(res *obj, s *stack.Stack, o Options) {
	nameTag := func(suffix string) []any { return nameTags(s.Name + suffix) }
	res.set("VPC", resource("AWS::EC2::VPC", obj{
		{key: "CidrBlock", val: ref("VpcCidr")},
		{key: "EnableDnsSupport", val: true},
		{key: "EnableDnsHostnames", val: true},
		{key: "Tags", val: nameTag("")}}),
		"Network: a VPC with a public and a private subnet per zone (availability_zones).")
	res.set("InternetGateway", resource("AWS::EC2::InternetGateway", obj{{key: "Tags", val: nameTag("")}}))
	res.set("GatewayAttachment", resource("AWS::EC2::VPCGatewayAttachment", obj{
		{key: "VpcId", val: ref("VPC")},
		{key: "InternetGatewayId", val: ref("InternetGateway")}}))
	res.set("PublicRouteTable", resource("AWS::EC2::RouteTable", obj{
		{key: "VpcId", val: ref("VPC")}, {key: "Tags", val: nameTag("-public")}}))
	res.set("PublicRoute", resource("AWS::EC2::Route", obj{
		{key: "RouteTableId", val: ref("PublicRouteTable")},
		{key: "DestinationCidrBlock", val: "0.0.0.0/0"},
		{key: "GatewayId", val: ref("InternetGateway")}}, "GatewayAttachment"))

	nat := map[string]bool{}
	for _, z := range natZones(s, o) {
		nat[z] = true
	}
	for i, z := range s.Zones {
		n := zoneNums(s)[i]
		id := func(kind string) string { return fmt.Sprintf("%s%d", kind, n) }
		res.set(id("PublicSubnet"), resource("AWS::EC2::Subnet", obj{
			{key: "VpcId", val: ref("VPC")},
			{key: "AvailabilityZone", val: z},
			{key: "CidrBlock", val: subnetCIDR(n)},
			{key: "MapPublicIpOnLaunch", val: true},
			{key: "Tags", val: nameTag("-public-" + z)}}),
			fmt.Sprintf("availability_zones[%d] %s: public subnet %d (the ALB), private subnet %d (the instances).", i, z, n, 100+n))
		res.set(id("PrivateSubnet"), resource("AWS::EC2::Subnet", obj{
			{key: "VpcId", val: ref("VPC")},
			{key: "AvailabilityZone", val: z},
			{key: "CidrBlock", val: subnetCIDR(100 + n)},
			{key: "Tags", val: nameTag("-private-" + z)}}))
		res.set(id("PublicSubnetRouteTableAssociation"), resource("AWS::EC2::SubnetRouteTableAssociation", obj{
			{key: "SubnetId", val: ref(id("PublicSubnet"))},
			{key: "RouteTableId", val: ref("PublicRouteTable")}}))
		if nat[z] {
			res.set(id("NatEip"), resource("AWS::EC2::EIP", obj{{key: "Domain", val: "vpc"}}, "GatewayAttachment"))
			res.set(id("NatGateway"), resource("AWS::EC2::NatGateway", obj{
				{key: "AllocationId", val: getAtt(id("NatEip"), "AllocationId")},
				{key: "SubnetId", val: ref(id("PublicSubnet"))},
				{key: "Tags", val: nameTag("-" + z)}}))
		}
		natID := id("NatGateway")
		comment := ""
		if o.SingleNAT {
			natID = "NatGateway1"
			comment = "--single-nat (an export option; the stack has no such field): through the first zone's NAT gateway."
		}
		res.set(id("PrivateRouteTable"), resource("AWS::EC2::RouteTable", obj{
			{key: "VpcId", val: ref("VPC")}, {key: "Tags", val: nameTag("-private-" + z)}}))
		res.set(id("PrivateRoute"), resource("AWS::EC2::Route", obj{
			{key: "RouteTableId", val: ref(id("PrivateRouteTable"))},
			{key: "DestinationCidrBlock", val: "0.0.0.0/0"},
			{key: "NatGatewayId", val: ref(natID)}}), comment)
		res.set(id("PrivateSubnetRouteTableAssociation"), resource("AWS::EC2::SubnetRouteTableAssociation", obj{
			{key: "SubnetId", val: ref(id("PrivateSubnet"))},
			{key: "RouteTableId", val: ref(id("PrivateRouteTable"))}}))
	}
}

// zoneRefs is a Ref to the public or private subnet of every zone.
func zoneRefs(s *stack.Stack, kind string) []any {
	var out []any
	for _, n := range zoneNums(s) {
		out = append(out, ref(fmt.Sprintf("%s%d", kind, n)))
	}
	return out
}

func cfnLoadBalancer(res *obj, s *stack.Stack) {
	lb := s.LoadBalancer
	res.set("AlbSecurityGroup", resource("AWS::EC2::SecurityGroup", obj{
		{key: "GroupDescription", val: "ALB of " + s.Name + ": the listener port from anywhere"},
		{key: "VpcId", val: ref("VPC")},
		{key: "SecurityGroupIngress", val: []any{obj{
			{key: "IpProtocol", val: "tcp"}, {key: "CidrIp", val: "0.0.0.0/0"},
			{key: "FromPort", val: lb.ListenerPort, comment: "load_balancer.listener.port"}, {key: "ToPort", val: lb.ListenerPort}}}},
		{key: "SecurityGroupEgress", val: []any{obj{{key: "IpProtocol", val: "-1"}, {key: "CidrIp", val: "0.0.0.0/0"}}}}}),
		"Load balancer: its security group (load_balancer.listener.port open to anyone), the ALB, the target group, the listener.")
	res.set("LoadBalancer", resource("AWS::ElasticLoadBalancingV2::LoadBalancer", obj{
		{key: "Name", val: s.Name},
		{key: "Type", val: "application"},
		{key: "Scheme", val: "internet-facing"},
		{key: "Subnets", val: zoneRefs(s, "PublicSubnet")},
		{key: "SecurityGroups", val: []any{getAtt("AlbSecurityGroup", "GroupId")}},
		{key: "LoadBalancerAttributes", val: cfnLoadBalancerAttributes(lb), comment: "load_balancer.idle_timeout"}}))
	for _, sv := range cfnServices(s) {
		cfnTargetGroupRes(res, sv)
	}
	res.set("Listener", resource("AWS::ElasticLoadBalancingV2::Listener", obj{
		{key: "LoadBalancerArn", val: ref("LoadBalancer")},
		{key: "Port", val: lb.ListenerPort, comment: "load_balancer.listener"},
		{key: "Protocol", val: lb.ListenerProtocol},
		{key: "DefaultActions", val: []any{cfnAction(s.DefaultAction(), cfnTGRefs(s))}}}))
	cfnListenerRules(res, s)
}

// cfnTargetGroupRes adds one service's target group.
func cfnTargetGroupRes(res *obj, sv cfnSvc) {
	tg := sv.st.TargetGroup
	hc := tg.HealthCheck
	var note []string
	if sv.multi {
		note = []string{sv.f("target_group") + ": service " + sv.st.Name + "'s target group"}
	}
	res.set(sv.id("TargetGroup"), resource("AWS::ElasticLoadBalancingV2::TargetGroup", obj{
		{key: "Name", val: sv.st.Name},
		{key: "VpcId", val: ref("VPC")},
		{key: "TargetType", val: "instance"},
		{key: "Port", val: tg.Port, comment: sv.f("target_group.port, .protocol")},
		{key: "Protocol", val: tg.Protocol},
		{key: "HealthCheckEnabled", val: true, comment: sv.f("target_group.health_check")},
		{key: "HealthCheckPath", val: hc.Path},
		{key: "HealthCheckPort", val: hc.Port},
		{key: "HealthCheckProtocol", val: hc.Protocol},
		{key: "HealthCheckIntervalSeconds", val: secs(hc.Interval)},
		{key: "HealthCheckTimeoutSeconds", val: secs(hc.Timeout)},
		{key: "HealthyThresholdCount", val: hc.HealthyThreshold},
		{key: "UnhealthyThresholdCount", val: hc.UnhealthyThreshold},
		{key: "Matcher", val: obj{{key: "HttpCode", val: hc.Matcher}}},
		{key: "TargetGroupAttributes", comment: sv.f("target_group") + ": deregistration_delay, slow_start, load_balancing_algorithm_type, load_balancing_cross_zone_enabled, load_balancing_anomaly_mitigation, target_group_health", val: cfnTargetGroupAttributes(tg)}}), note...)
}

// cfnTargetGroupAttributes is the target group's attributes under AWS's
// attribute keys; anomaly mitigation only with weighted_random, the only
// algorithm that takes it.
func cfnTargetGroupAttributes(tg stack.TargetGroup) []any {
	attrs := []any{
		tag("deregistration_delay.timeout_seconds", strVal(secs(tg.DeregistrationDelay))),
		tag("slow_start.duration_seconds", strVal(secs(tg.SlowStart))),
		tag("load_balancing.algorithm.type", tg.Algorithm),
		tag("load_balancing.cross_zone.enabled", tg.CrossZone),
	}
	if tg.Algorithm == "weighted_random" {
		attrs = append(attrs, tag("load_balancing.algorithm.anomaly_mitigation", tg.AnomalyMitigation))
	}
	r, d := tg.Health.UnhealthyStateRouting, tg.Health.DNSFailover
	attrs = append(attrs,
		tag("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", offOr(r.Count)),
		tag("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", offOr(r.Percentage)),
		tag("target_group_health.dns_failover.minimum_healthy_targets.count", offOr(d.Count)),
		tag("target_group_health.dns_failover.minimum_healthy_targets.percentage", offOr(d.Percentage)))
	return append(attrs, cfnStickinessAttributes(tg.Stickiness)...)
}

// offOr writes a target group health threshold as AWS takes it: "off" for 0.
func offOr(n int) string {
	if n == 0 {
		return "off"
	}
	return strVal(n)
}

// cfnLoadBalancerAttributes are the load balancer's attributes; the desync
// mitigation mode and drop_invalid_header_fields only when they differ from
// AWS's defaults (defensive, false).
func cfnLoadBalancerAttributes(lb stack.LoadBalancer) []any {
	attrs := []any{tag("idle_timeout.timeout_seconds", strVal(secs(lb.IdleTimeout)))}
	if lb.DesyncMitigationMode != "" && lb.DesyncMitigationMode != "defensive" {
		attrs = append(attrs, tag("routing.http.desync_mitigation_mode", lb.DesyncMitigationMode))
	}
	if lb.DropInvalidHeaderFields {
		attrs = append(attrs, tag("routing.http.drop_invalid_header_fields.enabled", "true"))
	}
	return attrs
}
