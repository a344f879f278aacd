package tui

import (
	"strings"
	"testing"

	"github.com/simplydone/lab/lab"
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
