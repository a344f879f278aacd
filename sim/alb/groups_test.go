package alb

import (
	"bytes"
	"strings"
	"testing"
)

// twoGroups is a load balancer whose own target group is "web" and which
// has an "api" group too; /api/* goes to api, /split/* is weighted.
func twoGroups(t *testing.T, weights ...int) *harness {
	return newHarness(t, func(c *Config) {
		c.TargetGroupName = "web"
		c.TargetGroups = []TargetGroupConfig{{Name: "api", HealthCheck: c.HealthCheck, Prober: c.Prober}}
		c.Rules = []Rule{
			{Priority: 1, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/api/*"}}}, Action: RuleAction{Type: ActionForward, TargetGroup: "api"}},
			{Priority: 2, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/split/*"}}},
				Action: RuleAction{Type: ActionForward, Weighted: []WeightedGroup{{Name: "web", Weight: weights[0]}, {Name: "api", Weight: weights[1]}}}},
		}
	})
}

func TestRulesRouteToTheirTargetGroup(t *testing.T) {
	h := twoGroups(t, 1, 1)
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	if err := h.lb.RegisterIn("api", "i-api", "us-east-1b", backend(t, "api", nil)); err != nil {
		t.Fatal(err)
	}
	if err := h.lb.RegisterIn("nope", "i-x", "us-east-1b", backend(t, "x", nil)); err == nil {
		t.Error("registered in a target group the load balancer does not have")
	}
	h.waitState("i-web", StateHealthy)
	h.waitState("i-api", StateHealthy)
	for _, n := range h.lb.Nodes() {
		for range 3 {
			if resp, _ := get(t, n.URL()+"/api/todos"); resp.Header.Get("X-Served-By") != "api" {
				t.Fatalf("/api/todos served by %q, want api", resp.Header.Get("X-Served-By"))
			}
			if resp, _ := get(t, n.URL()+"/"); resp.Header.Get("X-Served-By") != "web" {
				t.Fatalf("/ served by %q, want web (the default action)", resp.Header.Get("X-Served-By"))
			}
		}
	}
	api, web := h.lb.TargetGroupCounts("api"), h.lb.TargetGroupCounts("web")
	if api.Requests != 6 || api.Target2XX != 6 || api.Healthy != 1 || web.Requests != 6 || web.Targets != 1 {
		t.Errorf("counts api %+v web %+v; want 6 requests each, one healthy target each", api, web)
	}
}

// A target group with no target answers 503 on its own: the other group's
// healthy targets do not take its traffic.
func TestEmptyTargetGroupIs503(t *testing.T) {
	h := twoGroups(t, 1, 1)
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	h.waitState("i-web", StateHealthy)
	resp, _ := get(t, h.lb.Nodes()[0].URL()+"/api/x")
	if resp.StatusCode != 503 {
		t.Fatalf("/api/x with no api target: %d, want 503", resp.StatusCode)
	}
	if c := h.lb.TargetGroupCounts("api"); c.NoTarget != 1 || c.Requests != 0 {
		t.Errorf("api counts %+v; want one 503 without a target", c)
	}
}

// SetForwardWeights shifts a weighted forward from one group to the other
// at once; it refuses what ModifyRule would.
func TestSetForwardWeightsShiftsTraffic(t *testing.T) {
	h := twoGroups(t, 100, 0)
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	if err := h.lb.RegisterIn("api", "i-api", "us-east-1b", backend(t, "api", nil)); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-web", StateHealthy)
	h.waitState("i-api", StateHealthy)
	served := func() map[string]int {
		m := map[string]int{}
		for i := range 40 {
			resp, _ := get(t, h.lb.Nodes()[i%2].URL()+"/split/x")
			m[resp.Header.Get("X-Served-By")]++
		}
		return m
	}
	if m := served(); m["web"] != 40 {
		t.Fatalf("at 100/0: %v", m)
	}
	if err := h.lb.SetForwardWeights(2, []WeightedGroup{{Name: "web", Weight: 0}, {Name: "api", Weight: 100}}); err != nil {
		t.Fatal(err)
	}
	if m := served(); m["api"] != 40 {
		t.Fatalf("at 0/100: %v", m)
	}
	if w := h.lb.ForwardWeights(2); len(w) != 2 || w[1] != (WeightedGroup{Name: "api", Weight: 100}) {
		t.Errorf("ForwardWeights(2) = %v", w)
	}
	for _, bad := range []struct {
		prio int
		ws   []WeightedGroup
	}{
		{2, []WeightedGroup{{Name: "web", Weight: 0}, {Name: "api", Weight: 0}}},
		{2, []WeightedGroup{{Name: "nope", Weight: 1}}},
		{9, []WeightedGroup{{Name: "web", Weight: 1}}},
	} {
		if err := h.lb.SetForwardWeights(bad.prio, bad.ws); err == nil {
			t.Errorf("SetForwardWeights(%d, %v) taken", bad.prio, bad.ws)
		}
	}
}

// A zone leaves DNS when any target group falls below dns_failover there,
// not when the groups' targets summed do: api's one target failing takes
// every zone out (cross-zone on: over all zones), though web's is healthy.
func TestAnyTargetGroupTakesTheZoneOutOfDNS(t *testing.T) {
	h := twoGroups(t, 1, 1)
	sick := backend(t, "api", nil)
	h.prober.set(sick, mismatch)
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	if err := h.lb.RegisterIn("api", "i-api", "us-east-1b", sick); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.check(2)
	}
	h.waitState("i-web", StateHealthy)
	for _, n := range h.lb.Nodes() {
		if got, _ := n.Health("i-api"); got.State != StateUnhealthy {
			t.Fatalf("i-api on %s: %+v", n.Zone(), got)
		}
	}
	for _, n := range h.lb.Nodes() {
		if h.lb.DNSHealthy(n.Zone()) {
			t.Errorf("zone %s is healthy in DNS with api's only target unhealthy", n.Zone())
		}
	}
}

// Each access log line names the target group that served the request
// (target_group_arn), not always the load balancer's own.
func TestAccessLogNamesTheServingTargetGroup(t *testing.T) {
	var buf bytes.Buffer
	h := newHarness(t, func(c *Config) {
		c.AccessLog = &buf
		c.TargetGroupName = "web"
		c.TargetGroups = []TargetGroupConfig{{Name: "api", HealthCheck: c.HealthCheck, Prober: c.Prober}}
		c.Rules = []Rule{{Priority: 1, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/api/*"}}}, Action: RuleAction{Type: ActionForward, TargetGroup: "api"}}}
	})
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	if err := h.lb.RegisterIn("api", "i-api", "us-east-1b", backend(t, "api", nil)); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-web", StateHealthy)
	h.waitState("i-api", StateHealthy)
	url := h.lb.Nodes()[0].URL()
	get(t, url+"/api/x")
	get(t, url+"/")
	if err := h.lb.Close(); err != nil { // flushes the log
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	api, web := parseAccessLine(t, lines[0])["target_group_arn"], parseAccessLine(t, lines[1])["target_group_arn"]
	if !strings.Contains(api, ":targetgroup/api/") || web != h.lb.TargetGroupARN() {
		t.Errorf("target_group_arn: /api/x %q, / %q; want api's, then the load balancer's own %q", api, web, h.lb.TargetGroupARN())
	}
}
