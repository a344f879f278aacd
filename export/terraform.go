package export

import (
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// ProviderVersion is the AWS provider the module is written and validated
// for (the 5.x line; 5.100 is what the offline mirror holds).
const ProviderVersion = "~> 5.100"

// Terraform writes the stack as a Terraform module: file name to content.
// The files are split by concern: versions, variables, network, load
// balancer, compute, scaling, outputs, the user data template and a README.
func Terraform(s *stack.Stack, o Options) (map[string][]byte, error) {
	if err := Check(s, FormatTerraform); err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"versions.tf":        tfVersions(s, o),
		"variables.tf":       tfVariables(s, o),
		"network.tf":         tfNetwork(s, o),
		"load_balancer.tf":   tfLoadBalancer(s, o),
		"compute.tf":         tfCompute(s, o),
		"scaling.tf":         tfScaling(s, o),
		"outputs.tf":         tfOutputs(s, o),
		"user_data.sh.tftpl": []byte(tfUserData(s)),
		"README.md":          tfReadme(s, o),
	}
	if s.MultiService() { // each service's boot script instead (services.go)
		delete(files, "user_data.sh.tftpl")
		for _, sv := range tfServices(s) {
			files[sv.file()] = []byte(tfUserData(sv.st))
		}
	}
	if s.Database != nil {
		files["database.tf"] = tfDatabase(s, o)
	}
	return files, nil
}

// newTF starts a file with the provenance header and what the file holds.
func newTF(s *stack.Stack, o Options, about ...string) *tf {
	w := &tf{}
	w.comment(header(s, o, "terraform")...)
	w.comment("")
	w.comment(about...)
	w.b.WriteString("\n")
	return w
}

func tfVersions(s *stack.Stack, o Options) []byte {
	w := newTF(s, o, "Terraform and the AWS provider, in the region of availability_zones.")
	w.open("terraform")
	w.attr("required_version", q(">= 1.5"))
	w.open("required_providers")
	w.open("aws", "=")
	w.attr("source", q("hashicorp/aws"))
	w.attr("version", q(ProviderVersion))
	w.close()
	w.close()
	w.end()
	w.open("provider", q("aws"))
	w.attr("region", "var.region")
	w.open("default_tags")
	w.open("tags", "=")
	w.attr(q("lab:stack"), q(s.Name))
	w.close()
	w.close()
	w.close()
	return w.bytes()
}

func tfVariables(s *stack.Stack, o Options) []byte {
	w := newTF(s, o, "Inputs: what AWS needs that the stack cannot say, and the address plan.")
	for _, sv := range tfServices(s) {
		w.open("variable", q(sv.image()))
		w.attr("description", q(imageDescription(sv.st)))
		w.attr("type", "string")
		w.end()
	}
	w.open("variable", q("region"))
	w.attr("description", q("Region of availability_zones ("+strings.Join(s.Zones, ", ")+")."))
	w.attr("type", "string")
	w.attr("default", q(Region(s)))
	w.end()
	w.open("variable", q("vpc_cidr"))
	w.attr("description", q("The VPC's /16; zone N gets public /24 number N and private /24 number 100+N."))
	w.attr("type", "string")
	w.attr("default", q(VPCCIDR))
	w.open("validation")
	w.attr("condition", `can(cidrnetmask(var.vpc_cidr)) && endswith(var.vpc_cidr, "/16")`)
	w.attr("error_message", q("vpc_cidr must be an IPv4 /16, such as 10.0.0.0/16."))
	w.close()
	w.close()
	if len(s.ScheduledActions) > 0 {
		w.b.WriteString("\n")
		w.open("variable", q("schedule_start"))
		w.attr("description", q("When the lab run's time zero falls on AWS, in RFC 3339 UTC and in the future (such as 2026-11-27T08:00:00Z): each scheduled action starts at its offset (scheduled_actions[].at) from it."))
		w.attr("type", "string")
		w.end()
	}
	return w.bytes()
}

// imageDescription explains the image input: AWS pulls from a registry,
// so the lab's image (or its command) cannot be used as it is.
func imageDescription(s *stack.Stack) string {
	lt := s.LaunchTemplate
	if lt.Image != "" {
		return fmt.Sprintf("Container image the instances run, from a registry they can pull (ECR, Docker Hub). The lab ran %s (launch_template.image); push it and give its registry reference.", lt.Image)
	}
	return fmt.Sprintf("Container image the instances run, from a registry they can pull (ECR, Docker Hub). The lab ran the command %q (launch_template.command, lab-only); package it as an image listening on port %d.", strings.Join(lt.Command, " "), lt.Port)
}

func tfNetwork(s *stack.Stack, o Options) []byte {
	w := newTF(s, o, "Network: a VPC with a public and a private subnet per zone (availability_zones),",
		"an internet gateway, NAT gateway(s) and route tables.")
	w.open("locals")
	w.comment("availability_zones, in stack order: zone N gets public subnet N and private subnet 100+N.")
	w.open("zones", "=")
	for i, z := range s.Zones {
		w.attr(q(z), itoa(zoneNums(s)[i]))
	}
	w.close()
	if o.SingleNAT {
		w.comment("--single-nat (an export option; the stack has no such field): every private subnet", "routes through the NAT gateway in "+s.Zones[0]+".")
	} else {
		w.comment("Each zone's private subnet routes through its own zone's NAT gateway (--single-nat shares one).")
	}
	w.open("nat_zone", "=")
	nat := natZones(s, o)
	for _, z := range s.Zones {
		if o.SingleNAT {
			w.attr(q(z), q(nat[0]))
		} else {
			w.attr(q(z), q(z))
		}
	}
	w.close()
	w.end()

	w.resource("resource", "aws_vpc", "this")
	w.attr("cidr_block", "var.vpc_cidr")
	w.attr("enable_dns_support", "true")
	w.attr("enable_dns_hostnames", "true")
	w.attr("tags", fmt.Sprintf("{ Name = %s }", q(s.Name)))
	w.end()

	w.resource("resource", "aws_internet_gateway", "this")
	w.attr("vpc_id", "aws_vpc.this.id")
	w.attr("tags", fmt.Sprintf("{ Name = %s }", q(s.Name)))
	w.end()

	w.comment("The ALB's subnets, one per zone.")
	w.resource("resource", "aws_subnet", "public")
	w.attr("for_each", "local.zones")
	w.attr("vpc_id", "aws_vpc.this.id")
	w.attr("availability_zone", "each.key")
	w.attr("cidr_block", "cidrsubnet(var.vpc_cidr, 8, each.value)")
	w.attr("map_public_ip_on_launch", "true")
	w.attr("tags", fmt.Sprintf(`{ Name = "%s-public-${each.key}" }`, s.Name))
	w.end()

	w.comment("The instances' subnets, one per zone (the lab's 127.0.N.0/24).")
	w.resource("resource", "aws_subnet", "private")
	w.attr("for_each", "local.zones")
	w.attr("vpc_id", "aws_vpc.this.id")
	w.attr("availability_zone", "each.key")
	w.attr("cidr_block", "cidrsubnet(var.vpc_cidr, 8, 100 + each.value)")
	w.attr("tags", fmt.Sprintf(`{ Name = "%s-private-${each.key}" }`, s.Name))
	w.end()

	w.resource("resource", "aws_route_table", "public")
	w.attr("vpc_id", "aws_vpc.this.id")
	w.open("route")
	w.attr("cidr_block", q("0.0.0.0/0"))
	w.attr("gateway_id", "aws_internet_gateway.this.id")
	w.close()
	w.attr("tags", fmt.Sprintf("{ Name = %s }", q(s.Name+"-public")))
	w.end()

	w.resource("resource", "aws_route_table_association", "public")
	w.attr("for_each", "aws_subnet.public")
	w.attr("subnet_id", "each.value.id")
	w.attr("route_table_id", "aws_route_table.public.id")
	w.end()

	w.comment("Instances pull the image and packages through NAT; they have no public address.")
	w.resource("resource", "aws_eip", "nat")
	w.attr("for_each", "toset(values(local.nat_zone))")
	w.attr("domain", q("vpc"))
	w.attr("depends_on", "[aws_internet_gateway.this]")
	w.end()

	w.resource("resource", "aws_nat_gateway", "this")
	w.attr("for_each", "aws_eip.nat")
	w.attr("allocation_id", "each.value.id")
	w.attr("subnet_id", "aws_subnet.public[each.key].id")
	w.attr("tags", fmt.Sprintf(`{ Name = "%s-${each.key}" }`, s.Name))
	w.end()

	w.resource("resource", "aws_route_table", "private")
	w.attr("for_each", "local.zones")
	w.attr("vpc_id", "aws_vpc.this.id")
	w.open("route")
	w.attr("cidr_block", q("0.0.0.0/0"))
	w.attr("nat_gateway_id", "aws_nat_gateway.this[local.nat_zone[each.key]].id")
	w.close()
	w.attr("tags", fmt.Sprintf(`{ Name = "%s-private-${each.key}" }`, s.Name))
	w.end()

	w.resource("resource", "aws_route_table_association", "private")
	w.attr("for_each", "aws_subnet.private")
	w.attr("subnet_id", "each.value.id")
	w.attr("route_table_id", "aws_route_table.private[each.key].id")
	w.close()
	return w.bytes()
}

func tfLoadBalancer(s *stack.Stack, o Options) []byte {
	lb := s.LoadBalancer
	w := newTF(s, o, "Load balancer: the ALB (load_balancer), its listener, its security group and the target group (target_group).")
	w.tgRefs = tgRefs(s)

	w.comment("load_balancer.listener.port, open to anyone.")
	w.resource("resource", "aws_security_group", "alb")
	w.attr("name", q(s.Name+"-alb"))
	w.attr("description", q("ALB of "+s.Name+": the listener port from anywhere"))
	w.attr("vpc_id", "aws_vpc.this.id")
	w.end()

	w.resource("resource", "aws_vpc_security_group_ingress_rule", "alb_listener")
	w.attr("security_group_id", "aws_security_group.alb.id")
	w.attr("cidr_ipv4", q("0.0.0.0/0"))
	w.attr("ip_protocol", q("tcp"))
	w.attr("from_port", itoa(lb.ListenerPort), "load_balancer.listener.port")
	w.attr("to_port", itoa(lb.ListenerPort))
	w.end()

	w.comment("The ALB reaches the targets and their health checks.")
	w.resource("resource", "aws_vpc_security_group_egress_rule", "alb_all")
	w.attr("security_group_id", "aws_security_group.alb.id")
	w.attr("cidr_ipv4", q("0.0.0.0/0"))
	w.attr("ip_protocol", q("-1"))
	w.end()

	w.comment("The ALB, internet-facing, in the public subnet of every zone.")
	w.resource("resource", "aws_lb", "this")
	w.attr("name", q(s.Name), "name")
	w.attr("load_balancer_type", q("application"))
	w.attr("internal", "false")
	w.attr("security_groups", "[aws_security_group.alb.id]")
	w.attr("subnets", "[for z in keys(local.zones) : aws_subnet.public[z].id]")
	w.attr("idle_timeout", itoa(secs(lb.IdleTimeout)), "load_balancer.idle_timeout")
	if m := lb.DesyncMitigationMode; m != "" && m != "defensive" { // AWS's default left out
		w.attr("desync_mitigation_mode", q(m), "load_balancer.desync_mitigation_mode")
	}
	if lb.DropInvalidHeaderFields {
		w.attr("drop_invalid_header_fields", "true", "load_balancer.drop_invalid_header_fields")
	}
	w.end()

	svcs := tfServices(s)
	for _, sv := range svcs {
		tfTargetGroupRes(w, sv)
	}

	if lb.DefaultAction == nil && len(lb.Rules) == 0 {
		w.comment("load_balancer.listener: forward everything to the target group.")
	} else {
		w.comment("load_balancer.listener and its default action (listener.default_action); its rules (listener.rules) follow.")
	}
	w.resource("resource", "aws_lb_listener", "this")
	w.attr("load_balancer_arn", "aws_lb.this.arn")
	w.attr("port", itoa(lb.ListenerPort), "load_balancer.listener.port")
	w.attr("protocol", q(lb.ListenerProtocol), "load_balancer.listener.protocol")
	if lb.DefaultAction == nil {
		w.open("default_action")
		w.attr("type", q("forward"))
		w.attr("target_group_arn", "aws_lb_target_group."+svcs[0].id+".arn")
		w.close()
	} else {
		tfAction(w, "default_action", *lb.DefaultAction)
	}
	if len(lb.Rules) == 0 {
		w.close()
		return w.bytes()
	}
	w.end()
	tfListenerRules(w, s)
	return w.bytes()
}

// tfTargetGroupRes writes one service's target group.
func tfTargetGroupRes(w *tf, sv tfSvc) {
	tg := sv.st.TargetGroup
	hc := tg.HealthCheck
	if sv.multi {
		w.comment(sv.f("target_group") + ": service " + sv.st.Name + "'s target group")
	}
	w.resource("resource", "aws_lb_target_group", sv.id)
	if sv.multi {
		w.attr("name", q(sv.st.Name), sv.f("name"))
	} else {
		w.attr("name", q(sv.st.Name), "name")
	}
	w.attr("vpc_id", "aws_vpc.this.id")
	w.attr("target_type", q("instance"))
	w.attr("port", itoa(tg.Port), sv.f("target_group.port"))
	w.attr("protocol", q(tg.Protocol), sv.f("target_group.protocol"))
	w.attr("load_balancing_algorithm_type", q(tg.Algorithm), sv.f("target_group.load_balancing_algorithm_type"))
	w.attr("load_balancing_cross_zone_enabled", q(tg.CrossZone), sv.f("target_group.load_balancing_cross_zone_enabled"))
	w.attr("deregistration_delay", itoa(secs(tg.DeregistrationDelay)), sv.f("target_group.deregistration_delay"))
	w.attr("slow_start", itoa(secs(tg.SlowStart)), sv.f("target_group.slow_start (0 = off)"))
	if tg.Algorithm == "weighted_random" {
		w.attr("load_balancing_anomaly_mitigation", q(tg.AnomalyMitigation), sv.f("target_group.load_balancing_anomaly_mitigation"))
	}
	w.comment(sv.f("target_group.target_group_health: below these, a zone fails open (routing) or leaves DNS"))
	w.open("target_group_health")
	for _, a := range []struct {
		block string
		m     stack.MinimumHealthyTargets
	}{{"dns_failover", tg.Health.DNSFailover}, {"unhealthy_state_routing", tg.Health.UnhealthyStateRouting}} {
		w.open(a.block)
		w.attr("minimum_healthy_targets_count", q(offOr(a.m.Count)))
		w.attr("minimum_healthy_targets_percentage", q(offOr(a.m.Percentage)))
		w.close()
	}
	w.close()
	w.comment(sv.f("target_group.health_check"))
	w.open("health_check")
	w.attr("enabled", "true")
	w.attr("path", q(hc.Path))
	w.attr("port", q(hc.Port))
	w.attr("protocol", q(hc.Protocol))
	w.attr("interval", itoa(secs(hc.Interval)))
	w.attr("timeout", itoa(secs(hc.Timeout)))
	w.attr("healthy_threshold", itoa(hc.HealthyThreshold))
	w.attr("unhealthy_threshold", itoa(hc.UnhealthyThreshold))
	w.attr("matcher", q(hc.Matcher))
	w.close()
	tfStickiness(w, tg.Stickiness)
	w.end()
}

func tfOutputs(s *stack.Stack, o Options) []byte {
	w := newTF(s, o, "Outputs.")
	w.open("output", q("alb_dns_name"))
	w.attr("description", q("DNS name of the ALB; the listener is on port "+itoa(s.LoadBalancer.ListenerPort)+"."))
	w.attr("value", "aws_lb.this.dns_name")
	w.end()
	if s.MultiService() {
		w.open("output", q("asg_names"))
		w.attr("description", q("Each service's Auto Scaling group's name."))
		var pairs []string
		for _, sv := range tfServices(s) {
			pairs = append(pairs, fmt.Sprintf("%s = aws_autoscaling_group.%s.name", q(sv.st.Name), sv.id))
		}
		w.attr("value", "{ "+strings.Join(pairs, ", ")+" }")
		w.close()
	} else {
		w.open("output", q("asg_name"))
		w.attr("description", q("Name of the Auto Scaling group."))
		w.attr("value", "aws_autoscaling_group.this.name")
		w.close()
	}
	w.b.WriteString(tfDatabaseOutputs(s))
	return w.bytes()
}
