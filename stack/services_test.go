package stack

import (
	"strings"
	"testing"
)

func TestServicesStack(t *testing.T) {
	s, err := Builtin("services")
	if err != nil {
		t.Fatal(err)
	}
	if !s.MultiService() || len(s.ServiceList()) != 2 {
		t.Fatalf("services: %+v", s.ServiceList())
	}
	if got := strings.Join(s.TargetGroupNames(), ","); got != "api,listing" {
		t.Errorf("target groups %s, want api,listing", got)
	}
	api, listing := s.ServiceStack(0), s.ServiceStack(1)
	if api.Name != "api" || listing.Name != "listing" {
		t.Errorf("service stacks named %s, %s", api.Name, listing.Name)
	}
	// each service's defaults derived on its own: launch_template.port is its target group's
	if api.LaunchTemplate.Port != 8080 || listing.LaunchTemplate.Port != 8081 {
		t.Errorf("ports %d, %d; want 8080, 8081", api.LaunchTemplate.Port, listing.LaunchTemplate.Port)
	}
	if listing.AutoScalingGroup.MaxSize != 8 || listing.ScalingPolicies[0].Name != "listing-cpu-high" {
		t.Errorf("listing's group or policies not its own: %+v %+v", listing.AutoScalingGroup, listing.ScalingPolicies)
	}
	if a := listing.ScalingPolicies[0].Alarm; a.DatapointsToAlarm != 1 {
		t.Errorf("datapoints_to_alarm not derived per service: %d", a.DatapointsToAlarm)
	}
	// the top level reads as the first service, for what reads one group
	if s.TargetGroup.Port != 8080 || s.AutoScalingGroup.MaxSize != 6 {
		t.Errorf("top level is not the first service's")
	}
	if d := s.DefaultAction(); d.TargetGroups[0].Name != "api" {
		t.Errorf("default action forwards to %s", d.TargetGroups[0].Name)
	}
}

// A stack without services is one service named as the stack, and its
// service stack is the stack itself.
func TestOneServiceStack(t *testing.T) {
	s, err := Builtin("simplydone")
	if err != nil {
		t.Fatal(err)
	}
	if s.MultiService() || s.ServiceStack(0) != s {
		t.Fatal("a stack without services: is its own one service")
	}
	l := s.ServiceList()
	if len(l) != 1 || l[0].Name != "simplydone" || l[0].AutoScalingGroup.MaxSize != 6 {
		t.Errorf("service list %+v", l)
	}
}

func TestServicesErrors(t *testing.T) {
	const head = `name: two
load_balancer:
  listener:
    rules:
      - priority: 1
        conditions: [{path_pattern: ["/a"]}]
        action: {forward: {target_groups: [{name: a, weight: 90}, {name: nope, weight: 10}]}}
`
	const svc = `  - name: a
    target_group: {port: 8080}
    launch_template: {command: [x]}
    auto_scaling_group: {min_size: 1, max_size: 2}
`
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown target group", head + "services:\n" + svc,
			[]string{`:7:`, `load_balancer.listener.rules[0].action.forward.target_groups[1]: "nope" is not a target group of this stack; use a service's: a`}},
		{"duplicate name", "name: two\nservices:\n" + svc + svc,
			[]string{`:7:11: services[1].name: "a" is already the name of services[0]`}},
		{"service error at its position", "name: two\nservices:\n" + svc + "  - name: b\n    target_group: {port: 0}\n    launch_template: {command: [x]}\n    auto_scaling_group: {min_size: 3, max_size: 2}\n",
			[]string{`:8:26: services[1].target_group.port: 0 is not a port`, `:10:36: services[1].auto_scaling_group.min_size: 3 is above max_size (2)`}},
		{"top-level section with services", "name: two\ntarget_group: {port: 80}\nservices:\n" + svc,
			[]string{`:2:15: target_group: given with services`}},
		{"shared attribute differs", "name: two\nservices:\n" + svc + "  - name: b\n    target_group: {port: 8081, slow_start: 60s}\n    launch_template: {command: [x]}\n    auto_scaling_group: {min_size: 1, max_size: 2}\n",
			[]string{`services[1].target_group.slow_start: differs from services[0]'s`}},
		{"missing name", "name: two\nservices:\n  - target_group: {port: 8080}\n    launch_template: {command: [x]}\n    auto_scaling_group: {min_size: 1, max_size: 2}\n",
			[]string{`services[0].name: missing`}},
		{"unknown key", "name: two\nservices:\n" + svc + "    listener: {}\n",
			[]string{`:7:5: services[0].listener: unknown key`}},
		{"entries not mappings", "name: two\nservices: [api, listing]\n",
			[]string{`services[0]`, `services[1]`}},
		{"every forward weight 0", strings.NewReplacer("weight: 90", "weight: 0", "weight: 10", "weight: 0").Replace(head) + "services:\n" + svc + strings.Replace(svc, "name: a", "name: nope", 1),
			[]string{`load_balancer.listener.rules[0].action.forward.target_groups: every weight is 0`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("two.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("parsed")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

// Each service's policies are checked where they are: an AWS/RDS alarm of
// services[1] without a database, and a policy name two services share
// (its alarm is named after it).
func TestServicesPolicyErrors(t *testing.T) {
	svc := func(name, policy, namespace string) string {
		return "  - name: " + name + "\n    target_group: {port: 8080}\n    launch_template: {command: [x]}\n    auto_scaling_group: {min_size: 1, max_size: 2}\n" +
			"    scaling_policies:\n      - name: " + policy + "\n        policy_type: StepScaling\n        adjustment_type: ChangeInCapacity\n" +
			"        step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: 1}]\n" +
			"        alarm: {metric_name: CPUUtilization, namespace: " + namespace + ", statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 70, period: 60s, evaluation_periods: 1}\n"
	}
	_, err := Parse("two.yaml", []byte("name: two\nservices:\n"+svc("a", "up", "AWS/EC2")+svc("b", "up", "AWS/RDS")))
	if err == nil {
		t.Fatal("parsed")
	}
	for _, w := range []string{
		`services[1].scaling_policies[0].alarm.namespace: AWS/RDS needs the stack's database section`,
		`services[1].scaling_policies[0].name: "up" is also a policy of services[0]`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors:\n%v\nwant one containing %s", err, w)
		}
	}
}
