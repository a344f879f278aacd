package lab

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

func TestALBConfigCarriesRulesAndStickiness(t *testing.T) {
	s, err := stack.Parse("s.yaml", []byte(`name: web
availability_zones: [us-east-1a, us-east-1b]
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
load_balancer:
  listener:
    rules:
      - priority: 5
        conditions: [{path_pattern: ["/old/*"]}]
        action: {redirect: {path: "/new/#{path}", status_code: HTTP_302}}
      - priority: 7
        conditions: [{query_string: [{key: v, value: "2"}]}, {http_header: {name: X-Beta, values: ["on"]}}]
        action: {forward: {target_groups: [{name: web, weight: 10}]}}
    default_action: {fixed_response: {status_code: 404, content_type: text/plain, message_body: nothing here}}
target_group:
  port: 80
  stickiness: {type: app_cookie, cookie_name: SID, cookie_duration: 600}
`))
	if err != nil {
		t.Fatal(err)
	}
	zones, err := az.NewZones(s.Zones)
	if err != nil {
		t.Fatal(err)
	}
	c := clock.NewFake(time.Unix(0, 0))
	cfg := albConfig(s, zones, c, events.NewBus(c))
	if cfg.Stickiness != (alb.Stickiness{Type: alb.StickinessAppCookie, Duration: 10 * time.Minute, CookieName: "SID"}) {
		t.Fatalf("stickiness %+v", cfg.Stickiness)
	}
	rs, err := alb.NewRules(cfg.Rules, *cfg.DefaultAction, []string{cfg.TargetGroupName})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://lb/x?v=2", nil)
	r.Header.Set("X-Beta", "on")
	if p, a := rs.Evaluate(r, netipLoopback); p != 7 || a.Type != alb.ActionForward || a.TargetGroup != "web" {
		t.Fatalf("matched %d %+v", p, a)
	}
	if p, a := rs.Evaluate(httptest.NewRequest("GET", "http://lb/old/a", nil), netipLoopback); p != 5 || a.Redirect.Code != 302 || a.Redirect.Path != "/new/#{path}" {
		t.Fatalf("matched %d %+v", p, a)
	}
	if p, a := rs.Evaluate(httptest.NewRequest("GET", "http://lb/", nil), netipLoopback); p != 0 || a.StatusCode != 404 || a.Body != "nothing here" {
		t.Fatalf("default: %d %+v", p, a)
	}
	if _, err := alb.New(cfg); err != nil {
		t.Fatalf("the load balancer refused the stack's settings: %v", err)
	}
}

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// The open model's users: the scenario's load.users if given; else 500
// with sticky sessions; else none. A users phase brings its own.
func TestLoadUsers(t *testing.T) {
	sticky := &stack.Stack{}
	sticky.TargetGroup.Stickiness.Enabled = true
	plain := &stack.Stack{}
	rates := []scenarios.Phase{{Name: "p", Duration: time.Minute, From: 10, To: 10}}
	users := []scenarios.Phase{{Name: "p", Duration: time.Minute, From: 10, To: 10, Users: true}}
	for _, c := range []struct {
		name string
		st   *stack.Stack
		load scenarios.LoadProfile
		want int
	}{
		{"plain", plain, scenarios.LoadProfile{Phases: rates}, 0},
		{"sticky", sticky, scenarios.LoadProfile{Phases: rates}, StickyUsers},
		{"the scenario says", sticky, scenarios.LoadProfile{Phases: rates, Users: 40}, 40},
		{"users phases bring their own", plain, scenarios.LoadProfile{Phases: users, Users: 40}, 0},
	} {
		if got := loadUsers(c.st, &scenarios.Scenario{Load: c.load}); got != c.want {
			t.Errorf("%s: %d users, want %d", c.name, got, c.want)
		}
	}
}
