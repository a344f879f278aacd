package export

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/stack"
)

// tfModule finds blocks and literal values in a parsed export.
type tfModule map[string]*hclsyntax.Body

// block is the first top-level block with these labels.
func (m tfModule) block(t *testing.T, kind string, labels ...string) *hclsyntax.Body {
	t.Helper()
	for _, body := range m {
		for _, b := range body.Blocks {
			if b.Type == kind && fmt.Sprint(b.Labels) == fmt.Sprint(labels) {
				return b.Body
			}
		}
	}
	t.Fatalf("no %s %v in the module", kind, labels)
	return nil
}

// val is the literal value of attribute name in body, nested blocks first:
// val(b, "health_check", "interval"); the i-th nested block of a type is
// picked with blockIndex.
func val(t *testing.T, body *hclsyntax.Body, path ...string) cty.Value {
	t.Helper()
	for _, name := range path[:len(path)-1] {
		var next *hclsyntax.Body
		for _, b := range body.Blocks {
			if b.Type == name {
				next = b.Body
				break
			}
		}
		if next == nil {
			t.Fatalf("no block %s", name)
		}
		body = next
	}
	a, ok := body.Attributes[path[len(path)-1]]
	if !ok {
		t.Fatalf("no attribute %v", path)
	}
	v, diags := a.Expr.Value(&hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatalf("%v is not a literal: %s", path, diags.Error())
	}
	return v
}

func nested(body *hclsyntax.Body, typ string) []*hclsyntax.Body {
	var out []*hclsyntax.Body
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b.Body)
		}
	}
	return out
}

func f64(v cty.Value) float64 {
	if v.Type() == cty.String {
		f, _, _ := big.ParseFloat(v.AsString(), 10, 64, big.ToNearestEven)
		r, _ := f.Float64()
		return r
	}
	r, _ := v.AsBigFloat().Float64()
	return r
}

// strs is a list of strings as Go strings.
func strs(v cty.Value) []string {
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out
}

// eq reports a mismatch between what the export says and the stack.
func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v; the stack says %v", what, got, want)
	}
}

// stackNumbers are the numbers a round trip must preserve, by name.
func stackNumbers(s *stack.Stack) map[string]float64 {
	tg, g := s.TargetGroup, s.AutoScalingGroup
	return map[string]float64{
		"listener port": float64(s.LoadBalancer.ListenerPort), "idle timeout": s.LoadBalancer.IdleTimeout.Seconds(),
		"tg port": float64(tg.Port), "interval": tg.HealthCheck.Interval.Seconds(), "timeout": tg.HealthCheck.Timeout.Seconds(),
		"healthy": float64(tg.HealthCheck.HealthyThreshold), "unhealthy": float64(tg.HealthCheck.UnhealthyThreshold),
		"deregistration": tg.DeregistrationDelay.Seconds(), "slow start": tg.SlowStart.Seconds(),
		"min": float64(g.MinSize), "max": float64(g.MaxSize), "desired": float64(g.DesiredCapacity),
		"grace": g.HealthCheckGracePeriod.Seconds(), "cooldown": g.DefaultCooldown.Seconds(),
	}
}

// stackHealth is the stack's target group health thresholds as AWS's
// attributes take them ("off" for 0).
func stackHealth(s *stack.Stack) map[string]string {
	h := s.TargetGroup.Health
	str := func(n int) string {
		if n == 0 {
			return "off"
		}
		return fmt.Sprint(n)
	}
	return map[string]string{
		"dns_failover.count": str(h.DNSFailover.Count), "dns_failover.percentage": str(h.DNSFailover.Percentage),
		"unhealthy_state_routing.count": str(h.UnhealthyStateRouting.Count), "unhealthy_state_routing.percentage": str(h.UnhealthyStateRouting.Percentage),
	}
}

func TestRoundTripTerraform(t *testing.T) {
	for _, ts := range testStacks(t) {
		s := ts.s
		t.Run(ts.name, func(t *testing.T) {
			files, err := Terraform(s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			m := tfModule(parseModule(t, files))
			lb, tg := m.block(t, "resource", "aws_lb", "this"), m.block(t, "resource", "aws_lb_target_group", "this")
			lis, asg := m.block(t, "resource", "aws_lb_listener", "this"), m.block(t, "resource", "aws_autoscaling_group", "this")
			got := map[string]float64{
				"listener port": f64(val(t, lis, "port")), "idle timeout": f64(val(t, lb, "idle_timeout")),
				"tg port": f64(val(t, tg, "port")), "interval": f64(val(t, tg, "health_check", "interval")),
				"timeout": f64(val(t, tg, "health_check", "timeout")), "healthy": f64(val(t, tg, "health_check", "healthy_threshold")),
				"unhealthy":      f64(val(t, tg, "health_check", "unhealthy_threshold")),
				"deregistration": f64(val(t, tg, "deregistration_delay")), "slow start": f64(val(t, tg, "slow_start")),
				"min": f64(val(t, asg, "min_size")), "max": f64(val(t, asg, "max_size")), "desired": f64(val(t, asg, "desired_capacity")),
				"grace": f64(val(t, asg, "health_check_grace_period")), "cooldown": f64(val(t, asg, "default_cooldown")),
			}
			eq(t, "numbers", got, stackNumbers(s))
			eq(t, "health check path", val(t, tg, "health_check", "path").AsString(), s.TargetGroup.HealthCheck.Path)
			eq(t, "matcher", val(t, tg, "health_check", "matcher").AsString(), s.TargetGroup.HealthCheck.Matcher)
			eq(t, "health check port", val(t, tg, "health_check", "port").AsString(), s.TargetGroup.HealthCheck.Port)
			eq(t, "health check protocol", val(t, tg, "health_check", "protocol").AsString(), s.TargetGroup.HealthCheck.Protocol)
			eq(t, "algorithm", val(t, tg, "load_balancing_algorithm_type").AsString(), s.TargetGroup.Algorithm)
			eq(t, "cross-zone", val(t, tg, "load_balancing_cross_zone_enabled").AsString(), s.TargetGroup.CrossZone)
			if s.TargetGroup.Algorithm == "weighted_random" {
				eq(t, "anomaly mitigation", val(t, tg, "load_balancing_anomaly_mitigation").AsString(), s.TargetGroup.AnomalyMitigation)
			}
			tgh := map[string]string{}
			for _, a := range []string{"dns_failover", "unhealthy_state_routing"} {
				for _, k := range []string{"count", "percentage"} {
					tgh[a+"."+k] = val(t, tg, "target_group_health", a, "minimum_healthy_targets_"+k).AsString()
				}
			}
			eq(t, "target group health", tgh, stackHealth(s))
			eq(t, "termination policies", strs(val(t, asg, "termination_policies")), s.AutoScalingGroup.TerminationPolicies)

			// local.zones maps each zone to its number N, from 1 in stack order.
			zmap := val(t, m.block(t, "locals"), "zones").AsValueMap()
			zones := make([]string, len(zmap))
			for z, n := range zmap {
				if i := int(f64(n)) - 1; i >= 0 && i < len(zones) {
					zones[i] = z
				}
			}
			eq(t, "zones", zones, s.Zones)

			ids := idents(policyNames(s), false)
			for i, p := range s.ScalingPolicies {
				pol := m.block(t, "resource", "aws_autoscaling_policy", ids[i])
				eq(t, p.Name+" type", val(t, pol, "policy_type").AsString(), p.PolicyType)
				steps := nested(pol, "step_adjustment")
				eq(t, p.Name+" steps", len(steps), len(p.StepAdjustments))
				for j, st := range p.StepAdjustments {
					eq(t, p.Name+" step adjustment", f64(val(t, steps[j], "scaling_adjustment")), float64(st.ScalingAdjustment))
					if st.LowerBound != nil {
						eq(t, p.Name+" lower bound", f64(val(t, steps[j], "metric_interval_lower_bound")), *st.LowerBound)
					}
					if st.UpperBound != nil {
						eq(t, p.Name+" upper bound", f64(val(t, steps[j], "metric_interval_upper_bound")), *st.UpperBound)
					}
				}
				if p.PolicyType == stack.SimpleScaling {
					eq(t, p.Name+" adjustment", f64(val(t, pol, "scaling_adjustment")), float64(p.ScalingAdjustment))
				}
				if tt := p.TargetTracking; tt != nil {
					eq(t, p.Name+" target", f64(val(t, pol, "target_tracking_configuration", "target_value")), tt.TargetValue)
					eq(t, p.Name+" disable scale in", val(t, pol, "target_tracking_configuration", "disable_scale_in").True(), tt.DisableScaleIn)
					spec := nested(nested(pol, "target_tracking_configuration")[0], "predefined_metric_specification")[0]
					eq(t, p.Name+" metric", val(t, spec, "predefined_metric_type").AsString(), tt.PredefinedMetricType)
					_, label := spec.Attributes["resource_label"]
					eq(t, p.Name+" has a resource label", label, tt.PredefinedMetricType == "ALBRequestCountPerTarget")
				}
				if w := p.EstimatedInstanceWarmup; w != nil {
					eq(t, p.Name+" warmup", f64(val(t, pol, "estimated_instance_warmup")), w.Seconds())
				}
				if a := p.Alarm; a != nil {
					al := m.block(t, "resource", "aws_cloudwatch_metric_alarm", ids[i])
					eq(t, p.Name+" threshold", f64(val(t, al, "threshold")), a.Threshold)
					eq(t, p.Name+" period", f64(val(t, al, "period")), a.Period.Seconds())
					eq(t, p.Name+" evaluation periods", f64(val(t, al, "evaluation_periods")), float64(a.EvaluationPeriods))
					eq(t, p.Name+" datapoints", f64(val(t, al, "datapoints_to_alarm")), float64(a.DatapointsToAlarm))
					eq(t, p.Name+" comparison", val(t, al, "comparison_operator").AsString(), a.ComparisonOperator)
				}
			}
		})
	}
}

func TestRoundTripCloudFormation(t *testing.T) {
	for _, ts := range testStacks(t) {
		s := ts.s
		t.Run(ts.name, func(t *testing.T) {
			data, err := CloudFormation(s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			var tmpl struct {
				Resources map[string]struct {
					Type       string         `yaml:"Type"`
					Properties map[string]any `yaml:"Properties"`
				} `yaml:"Resources"`
			}
			if err := yaml.Unmarshal(data, &tmpl); err != nil {
				t.Fatal(err)
			}
			props := func(id string) map[string]any {
				r, ok := tmpl.Resources[id]
				if !ok {
					t.Fatalf("no resource %s", id)
				}
				return r.Properties
			}
			num := func(v any) float64 {
				var f float64
				if _, err := fmt.Sscan(fmt.Sprint(v), &f); err != nil {
					t.Errorf("%v is not a number", v)
				}
				return f
			}
			attrs := func(list any) map[string]any {
				out := map[string]any{}
				for _, kv := range list.([]any) {
					m := kv.(map[string]any)
					out[m["Key"].(string)] = m["Value"]
				}
				return out
			}
			lb, tg, lis, asg := props("LoadBalancer"), props("TargetGroup"), props("Listener"), props("AutoScalingGroup")
			tga := attrs(tg["TargetGroupAttributes"])
			got := map[string]float64{
				"listener port": num(lis["Port"]), "idle timeout": num(attrs(lb["LoadBalancerAttributes"])["idle_timeout.timeout_seconds"]),
				"tg port": num(tg["Port"]), "interval": num(tg["HealthCheckIntervalSeconds"]), "timeout": num(tg["HealthCheckTimeoutSeconds"]),
				"healthy": num(tg["HealthyThresholdCount"]), "unhealthy": num(tg["UnhealthyThresholdCount"]),
				"deregistration": num(tga["deregistration_delay.timeout_seconds"]), "slow start": num(tga["slow_start.duration_seconds"]),
				"min": num(asg["MinSize"]), "max": num(asg["MaxSize"]), "desired": num(asg["DesiredCapacity"]),
				"grace": num(asg["HealthCheckGracePeriod"]), "cooldown": num(asg["Cooldown"]),
			}
			eq(t, "numbers", got, stackNumbers(s))
			eq(t, "algorithm", tga["load_balancing.algorithm.type"], s.TargetGroup.Algorithm)
			eq(t, "cross-zone", tga["load_balancing.cross_zone.enabled"], s.TargetGroup.CrossZone)
			if s.TargetGroup.Algorithm == "weighted_random" {
				eq(t, "anomaly mitigation", tga["load_balancing.algorithm.anomaly_mitigation"], s.TargetGroup.AnomalyMitigation)
			} else if _, ok := tga["load_balancing.algorithm.anomaly_mitigation"]; ok {
				t.Errorf("anomaly mitigation written for %s", s.TargetGroup.Algorithm)
			}
			tgh := map[string]string{}
			for _, a := range []string{"dns_failover", "unhealthy_state_routing"} {
				for _, k := range []string{"count", "percentage"} {
					tgh[a+"."+k], _ = tga["target_group_health."+a+".minimum_healthy_targets."+k].(string)
				}
			}
			eq(t, "target group health", tgh, stackHealth(s))
			eq(t, "health check path", tg["HealthCheckPath"], s.TargetGroup.HealthCheck.Path)
			eq(t, "health check port", tg["HealthCheckPort"], s.TargetGroup.HealthCheck.Port)
			eq(t, "health check protocol", tg["HealthCheckProtocol"], s.TargetGroup.HealthCheck.Protocol)
			eq(t, "matcher", tg["Matcher"].(map[string]any)["HttpCode"], s.TargetGroup.HealthCheck.Matcher)
			eq(t, "termination policies", asg["TerminationPolicies"], s.AutoScalingGroup.TerminationPolicies)

			var zones []string
			for i := range s.Zones {
				zones = append(zones, props(fmt.Sprintf("PrivateSubnet%d", i+1))["AvailabilityZone"].(string))
				eq(t, "public subnet zone", props(fmt.Sprintf("PublicSubnet%d", i+1))["AvailabilityZone"], s.Zones[i])
			}
			eq(t, "zones", zones, s.Zones)

			ids := idents(policyNames(s), true)
			for i, p := range s.ScalingPolicies {
				pol := props(ids[i] + "Policy")
				eq(t, p.Name+" type", pol["PolicyType"], p.PolicyType)
				if p.StepAdjustments != nil {
					steps := pol["StepAdjustments"].([]any)
					eq(t, p.Name+" steps", len(steps), len(p.StepAdjustments))
					for j, st := range p.StepAdjustments {
						m := steps[j].(map[string]any)
						eq(t, p.Name+" step adjustment", num(m["ScalingAdjustment"]), float64(st.ScalingAdjustment))
						if st.LowerBound != nil {
							eq(t, p.Name+" lower bound", num(m["MetricIntervalLowerBound"]), *st.LowerBound)
						}
						if st.UpperBound != nil {
							eq(t, p.Name+" upper bound", num(m["MetricIntervalUpperBound"]), *st.UpperBound)
						}
					}
				}
				if p.PolicyType == stack.SimpleScaling {
					eq(t, p.Name+" adjustment", num(pol["ScalingAdjustment"]), float64(p.ScalingAdjustment))
				}
				if tt := p.TargetTracking; tt != nil {
					cfg := pol["TargetTrackingConfiguration"].(map[string]any)
					eq(t, p.Name+" target", num(cfg["TargetValue"]), tt.TargetValue)
					eq(t, p.Name+" disable scale in", cfg["DisableScaleIn"], tt.DisableScaleIn)
					spec := cfg["PredefinedMetricSpecification"].(map[string]any)
					eq(t, p.Name+" metric", spec["PredefinedMetricType"], tt.PredefinedMetricType)
					_, label := spec["ResourceLabel"]
					eq(t, p.Name+" has a resource label", label, tt.PredefinedMetricType == "ALBRequestCountPerTarget")
				}
				if w := p.EstimatedInstanceWarmup; w != nil {
					eq(t, p.Name+" warmup", num(pol["EstimatedInstanceWarmup"]), w.Seconds())
				}
				if a := p.Alarm; a != nil {
					al := props(ids[i] + "Alarm")
					eq(t, p.Name+" threshold", num(al["Threshold"]), a.Threshold)
					eq(t, p.Name+" period", num(al["Period"]), a.Period.Seconds())
					eq(t, p.Name+" evaluation periods", num(al["EvaluationPeriods"]), float64(a.EvaluationPeriods))
					eq(t, p.Name+" datapoints", num(al["DatapointsToAlarm"]), float64(a.DatapointsToAlarm))
					eq(t, p.Name+" comparison", al["ComparisonOperator"], a.ComparisonOperator)
				}
			}
		})
	}
}
