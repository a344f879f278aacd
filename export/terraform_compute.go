package export

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// imageToken stands for the image reference in UserData until each format
// puts in its own variable syntax.
const imageToken = "\x00IMAGE\x00"

// tfUserData is the user data as a templatefile: only ${image} is a
// template sequence, every other ${ or %{ is escaped.
func tfUserData(s *stack.Stack) string {
	ud := UserData(s, imageToken)
	ud = strings.NewReplacer("${", "$${", "%{", "%%{").Replace(ud)
	return strings.Replace(ud, imageToken, "${image}", 1)
}

// healthCheckPort is the health check's own port when it is not the
// traffic port, else 0.
func healthCheckPort(s *stack.Stack) int {
	n, err := strconv.Atoi(s.TargetGroup.HealthCheck.Port)
	if err != nil || n == s.TargetGroup.Port {
		return 0
	}
	return n
}

// labOnly lists, as comments, the launch template settings AWS has no
// place for; image is how the format names the image input.
func labOnly(s *stack.Stack, image string) []string {
	lt := s.LaunchTemplate
	var out []string
	if len(lt.Command) > 0 {
		out = append(out, fmt.Sprintf("launch_template.command %q is lab-only (the process runtime); AWS runs %s.", strings.Join(lt.Command, " "), image))
	}
	if lt.Image != "" {
		out = append(out, fmt.Sprintf("launch_template.image %s is the lab's local image; AWS pulls %s from a registry.", lt.Image, image))
	}
	out = append(out, fmt.Sprintf("launch_template.boot_time (%ds) is lab-only: on AWS the boot takes what it takes.", secs(lt.BootTime)))
	out = append(out, fmt.Sprintf("launch_template.pending_time (%ds) is lab-only: on AWS EC2 takes what it takes from pending to running.", secs(lt.PendingTime)))
	out = append(out, restartNote(lt)...)
	for _, v := range lt.Versions {
		out = append(out, fmt.Sprintf("launch_template.versions[%d] (%s) is a later release: on AWS, create a new launch template version with its environment and start an instance refresh.", v.Version, v.Description))
	}
	if it, ok := az.LookupInstanceType(lt.InstanceType); ok {
		out = append(out, fmt.Sprintf("The lab's CPU share for %s (%s of a core) is lab-only: AWS gives the real instance.", it.Name, strconv.FormatFloat(it.CPU, 'f', -1, 64)))
	}
	return out
}

func tfCompute(s *stack.Stack, o Options) []byte {
	w := newTF(s, o, "Compute: the instances' security group, the launch template (launch_template)",
		"and the Auto Scaling group (auto_scaling_group).")

	w.comment("Instances take traffic only from the ALB, on target_group.port.")
	w.resource("resource", "aws_security_group", "instance")
	w.attr("name", q(s.Name+"-instance"))
	w.attr("description", q("Instances of "+s.Name+": the app port from the ALB only"))
	w.attr("vpc_id", "aws_vpc.this.id")
	w.end()

	svcs := tfServices(s)
	for _, sv := range svcs {
		tgPort := sv.st.TargetGroup.Port
		w.resource("resource", "aws_vpc_security_group_ingress_rule", sv.res("instance_from_alb"))
		w.attr("security_group_id", "aws_security_group.instance.id")
		w.attr("referenced_security_group_id", "aws_security_group.alb.id")
		w.attr("ip_protocol", q("tcp"))
		w.attr("from_port", itoa(tgPort), sv.f("target_group.port"))
		w.attr("to_port", itoa(tgPort))
		w.end()

		if p := healthCheckPort(sv.st); p != 0 {
			w.comment(sv.f("target_group.health_check.port differs from the traffic port."))
			w.resource("resource", "aws_vpc_security_group_ingress_rule", sv.res("instance_health_check"))
			w.attr("security_group_id", "aws_security_group.instance.id")
			w.attr("referenced_security_group_id", "aws_security_group.alb.id")
			w.attr("ip_protocol", q("tcp"))
			w.attr("from_port", itoa(p), sv.f("target_group.health_check.port"))
			w.attr("to_port", itoa(p))
			w.end()
		}
	}

	w.comment("Out through NAT: packages and the image.")
	w.resource("resource", "aws_vpc_security_group_egress_rule", "instance_all")
	w.attr("security_group_id", "aws_security_group.instance.id")
	w.attr("cidr_ipv4", q("0.0.0.0/0"))
	w.attr("ip_protocol", q("-1"))
	w.end()

	w.comment("The latest Amazon Linux 2023 AMI, from AWS's public SSM parameter.")
	w.resource("data", "aws_ssm_parameter", "al2023")
	w.attr("name", q(AMIParameter))
	w.end()

	for i, sv := range svcs {
		if i > 0 {
			w.b.WriteString("\n")
		}
		tfServiceCompute(w, sv)
	}
	return w.bytes()
}

// tfServiceCompute writes one service's launch template and group.
func tfServiceCompute(w *tf, sv tfSvc) {
	s := sv.st
	lt, g := s.LaunchTemplate, s.AutoScalingGroup
	if sv.multi {
		w.comment(fmt.Sprintf("Service %s (%s).", s.Name, sv.prefix[:len(sv.prefix)-1]))
	}
	w.comment(labOnly(s, "var."+sv.image())...)
	w.resource("resource", "aws_launch_template", sv.id)
	w.attr("name_prefix", q(s.Name+"-"))
	w.attr("image_id", "data.aws_ssm_parameter.al2023.insecure_value")
	w.attr("instance_type", q(lt.InstanceType), sv.f("launch_template.instance_type"))
	w.attr("vpc_security_group_ids", "[aws_security_group.instance.id]")
	w.comment(fmt.Sprintf("Installs Docker and runs var.%s with %s and %s.", sv.image(), sv.f("launch_template.port"), sv.f("launch_template.environment")))
	w.attr("user_data", fmt.Sprintf(`base64encode(templatefile("${path.module}/%s", { image = var.%s }))`, sv.file(), sv.image()))
	w.comment(monitoringComment(lt.Monitoring))
	w.open("monitoring")
	w.attr("enabled", fmt.Sprint(lt.Monitoring == stack.MonitoringDetailed), sv.f("launch_template.monitoring"))
	w.close()
	w.open("metadata_options")
	w.attr("http_tokens", q("required"))
	w.close()
	w.open("tag_specifications")
	w.attr("resource_type", q("instance"))
	w.attr("tags", fmt.Sprintf("{ Name = %s }", q(s.Name)))
	w.close()
	w.end()

	w.comment(sv.f("auto_scaling_group") + ", in the private subnets, registered with the target group.")
	w.resource("resource", "aws_autoscaling_group", sv.id)
	w.attr("name", q(s.Name), sv.f("name"))
	w.attr("min_size", itoa(g.MinSize), sv.f("auto_scaling_group.min_size"))
	w.attr("max_size", itoa(g.MaxSize), sv.f("auto_scaling_group.max_size"))
	w.attr("desired_capacity", itoa(g.DesiredCapacity), sv.f("auto_scaling_group.desired_capacity"))
	w.attr("vpc_zone_identifier", "[for z in keys(local.zones) : aws_subnet.private[z].id]")
	w.attr("target_group_arns", "[aws_lb_target_group."+sv.id+".arn]")
	w.attr("health_check_type", q(g.HealthCheckType), sv.f("auto_scaling_group.health_check_type"))
	w.attr("health_check_grace_period", itoa(secs(g.HealthCheckGracePeriod)), sv.f("auto_scaling_group.health_check_grace_period"))
	w.attr("default_cooldown", itoa(secs(g.DefaultCooldown)), sv.f("auto_scaling_group.default_cooldown"))
	if g.DefaultInstanceWarmup != nil {
		w.attr("default_instance_warmup", itoa(secs(*g.DefaultInstanceWarmup)), sv.f("auto_scaling_group.default_instance_warmup"))
	}
	w.attr("termination_policies", qlist(g.TerminationPolicies), sv.f("auto_scaling_group.termination_policies"))
	tfGroupExtras(w, s)
	w.open("launch_template")
	w.attr("id", "aws_launch_template."+sv.id+".id")
	w.attr("version", "aws_launch_template."+sv.id+".latest_version")
	w.close()
	w.comment(sv.f("auto_scaling_group.capacity_distribution_strategy"))
	w.open("availability_zone_distribution")
	w.attr("capacity_distribution_strategy", q(g.CapacityDistributionStrategy))
	w.close()
	w.open("tag")
	w.attr("key", q("Name"))
	w.attr("value", q(s.Name))
	w.attr("propagate_at_launch", "true")
	w.close()
	w.comment("Instances boot through NAT: the private routes come first.")
	w.attr("depends_on", "[aws_route_table_association.private]")
	w.comment("The scaling policies own the desired capacity once the group exists.")
	w.open("lifecycle")
	w.attr("ignore_changes", "[desired_capacity]")
	w.close()
	w.close()
}

func tfScaling(s *stack.Stack, o Options) []byte {
	w := newTF(s, o, "Scaling: every scaling_policies entry, and the CloudWatch alarm of each simple and step policy.")
	for _, sv := range tfServices(s) {
		tfServiceScaling(w, sv)
	}
	return w.bytes()
}

// tfServiceScaling writes one service's policies, alarms and schedules.
func tfServiceScaling(w *tf, sv tfSvc) {
	s := sv.st
	ids := idents(policyNames(s), false)
	for i, p := range s.ScalingPolicies {
		id := ids[i]
		if sv.multi {
			id = sv.id + "_" + id
		}
		w.comment(fmt.Sprintf("%sscaling_policies[%d] %s (%s)", sv.prefix, i, p.Name, p.PolicyType))
		w.resource("resource", "aws_autoscaling_policy", id)
		w.attr("name", q(p.Name))
		w.attr("autoscaling_group_name", "aws_autoscaling_group."+sv.id+".name")
		w.attr("policy_type", q(p.PolicyType))
		if p.AdjustmentType != "" {
			w.attr("adjustment_type", q(p.AdjustmentType))
		}
		if p.PolicyType == stack.SimpleScaling {
			w.attr("scaling_adjustment", itoa(p.ScalingAdjustment))
		}
		if p.MinAdjustmentMagnitude != 0 {
			w.attr("min_adjustment_magnitude", itoa(p.MinAdjustmentMagnitude))
		}
		if p.Cooldown != nil {
			w.attr("cooldown", itoa(secs(*p.Cooldown)))
		}
		if p.EstimatedInstanceWarmup != nil {
			w.attr("estimated_instance_warmup", itoa(secs(*p.EstimatedInstanceWarmup)))
		}
		for _, st := range p.StepAdjustments {
			w.comment("Bounds are relative to the alarm threshold; an open bound is infinity.")
			w.open("step_adjustment")
			if st.LowerBound != nil {
				w.attr("metric_interval_lower_bound", num(*st.LowerBound))
			}
			if st.UpperBound != nil {
				w.attr("metric_interval_upper_bound", num(*st.UpperBound))
			}
			w.attr("scaling_adjustment", itoa(st.ScalingAdjustment))
			w.close()
		}
		if t := p.TargetTracking; t != nil {
			w.comment("AWS creates and manages this policy's alarms.")
			w.open("target_tracking_configuration")
			w.open("predefined_metric_specification")
			w.attr("predefined_metric_type", q(t.PredefinedMetricType))
			if t.PredefinedMetricType == "ALBRequestCountPerTarget" {
				w.attr("resource_label", `"${aws_lb.this.arn_suffix}/${aws_lb_target_group.`+sv.id+`.arn_suffix}"`)
			}
			w.close()
			w.attr("target_value", num(t.TargetValue))
			w.attr("disable_scale_in", boolean(t.DisableScaleIn))
			w.close()
			if t.PredefinedMetricType == "ALBRequestCountPerTarget" {
				w.comment("The target group must be behind the listener before its request count exists.")
				w.attr("depends_on", "[aws_lb_listener.this]")
			}
		}
		w.end()
		if p.Alarm != nil {
			tfAlarm(w, sv, i, id)
		}
	}
	tfSchedules(w, sv)
}

// tfAlarm writes the alarm that drives a simple or step policy.
func tfAlarm(w *tf, sv tfSvc, i int, id string) {
	s := sv.st
	p := s.ScalingPolicies[i]
	a := p.Alarm
	w.comment(fmt.Sprintf("%sscaling_policies[%d].alarm", sv.prefix, i))
	w.resource("resource", "aws_cloudwatch_metric_alarm", id)
	w.attr("alarm_name", q(s.Name+"-"+p.Name))
	w.attr("alarm_description", q(fmt.Sprintf("Runs scaling policy %s of %s.", p.Name, s.Name)))
	w.attr("namespace", q(a.Namespace))
	w.attr("metric_name", q(a.MetricName))
	w.attr("statistic", q(a.Statistic))
	w.attr("comparison_operator", q(a.ComparisonOperator))
	w.attr("threshold", num(a.Threshold))
	w.attr("period", itoa(secs(a.Period)))
	w.attr("evaluation_periods", itoa(a.EvaluationPeriods))
	w.attr("datapoints_to_alarm", itoa(a.DatapointsToAlarm))
	w.attr("treat_missing_data", q(a.TreatMissingData))
	w.open("dimensions", "=")
	for _, d := range alarmDimensions(s, a) {
		expr, ok := map[string]string{
			"asg": "aws_autoscaling_group." + sv.id + ".name",
			"lb":  "aws_lb.this.arn_suffix",
			"tg":  "aws_lb_target_group." + sv.id + ".arn_suffix",
		}[d.Ref]
		if !ok {
			expr = tfRDSRef(d.Ref)
		}
		w.attr(d.Name, expr)
	}
	w.close()
	w.attr("alarm_actions", fmt.Sprintf("[aws_autoscaling_policy.%s.arn]", id))
	w.end()
}
