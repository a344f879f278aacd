package stack

import (
	"strings"
	"testing"
	"time"
)

// A weighted forward's target group stickiness (AWSALBTG): read as
// forward.stickiness {enabled, duration}, checked against AWS's 1 s to 7
// days, its errors at their line.
func TestForwardGroupStickiness(t *testing.T) {
	const head = `name: two
load_balancer:
  listener:
    default_action:
      forward:
        target_groups: [{name: a, weight: 90}, {name: b, weight: 10}]
`
	const svcs = `services:
  - name: a
    target_group: {port: 8080}
    launch_template: {command: [x]}
    auto_scaling_group: {min_size: 1, max_size: 2}
  - name: b
    target_group: {port: 8081}
    launch_template: {command: [x]}
    auto_scaling_group: {min_size: 1, max_size: 2}
`
	s, err := Parse("two.yaml", []byte(head+"        stickiness: {enabled: true, duration: 300s}\n"+svcs))
	if err != nil {
		t.Fatal(err)
	}
	if gs := s.DefaultAction().GroupStickiness; gs == nil || !gs.Enabled || gs.Duration != 5*time.Minute {
		t.Errorf("group stickiness = %+v, want enabled for 300s", gs)
	}
	s, err = Parse("two.yaml", []byte(head+"        stickiness: {enabled: false}\n"+svcs))
	if err != nil {
		t.Fatalf("disabled stickiness needs no duration: %v", err)
	}
	if gs := s.DefaultAction().GroupStickiness; gs == nil || gs.Enabled {
		t.Errorf("group stickiness = %+v, want given and disabled", gs)
	}
	cases := []struct{ name, line, want string }{
		{"no duration", "        stickiness: {enabled: true}\n",
			`two.yaml:7:21: load_balancer.listener.default_action.forward.stickiness.duration: missing; target group stickiness needs its duration`},
		{"above 7 days", "        stickiness: {duration: 604801}\n",
			`:7:32: load_balancer.listener.default_action.forward.stickiness.duration: 168h0m1s is not allowed; use whole seconds from 1s to 7 days`},
		{"0 s", "        stickiness: {duration: 0s}\n",
			`:7:32: load_balancer.listener.default_action.forward.stickiness.duration: 0s is not allowed`},
		{"unknown key", "        stickiness: {duration: 60s, type: lb_cookie}\n",
			`load_balancer.listener.default_action.forward.stickiness.type: unknown key`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("two.yaml", []byte(head+c.line+svcs))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error\n%v\nlacks %q", err, c.want)
			}
		})
	}
}
