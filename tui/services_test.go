package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/stack"
)

// A stack with several services shows each after the group line: its
// instances in service of desired, healthy targets, requests and 5xx.
func TestViewServices(t *testing.T) {
	s := fixture()
	s.Group = Group{Name: "services", Min: 4, Desired: 5, Max: 14, InService: 5,
		Services: []lab.ServiceState{
			{Name: "api", Desired: 2, InService: 2, Healthy: 2, Requests: 1633},
			{Name: "listing", Desired: 3, InService: 3, Healthy: 3, Requests: 8929, Errors5xx: 4, CPU: 71, HasCPU: true},
		}}
	v := step(newModel(240, 48), s).View()
	for _, want := range []string{"api 2/2 healthy 2 · 1633 req · 0 5xx", "listing 3/3 healthy 3 · 8929 req · 4 5xx · CPU 71%"} {
		if !strings.Contains(v, want) {
			t.Errorf("the view lacks %q:\n%s", want, v)
		}
	}
	s.Group.Services = nil
	if v := step(newModel(240, 48), s).View(); strings.Contains(v, "req ·") {
		t.Errorf("a one-service stack shows services:\n%s", v)
	}
}

// Every service's policies drive the alarms the view shows: the built-in
// services stack's step policies, by name, from each service.
func TestAlarmPoliciesOfServices(t *testing.T) {
	st, err := stack.Builtin("services")
	if err != nil {
		t.Fatal(err)
	}
	m := alarmPolicies(st, time.Now(), nil)
	for _, sv := range st.Services {
		for _, p := range sv.ScalingPolicies {
			if m[p.Name] == nil && m["TargetTracking-"+sv.Name+"-AlarmHigh-"+p.Name] == nil {
				t.Errorf("service %s's policy %s drives no alarm the view knows: %v", sv.Name, p.Name, m)
			}
		}
	}
	if len(st.Services) < 2 || len(st.Services[1].ScalingPolicies) == 0 {
		t.Fatal("the services stack's second service has no policy to check")
	}
}
