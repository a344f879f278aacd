package stack

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestListenerRulesParse(t *testing.T) {
	src := head + group + `load_balancer:
  listener:
    rules:
      - priority: 20
        conditions:
          - path_pattern: ["/api/*"]
          - http_header: {name: X-Canary, values: ["on"]}
          - query_string: [{key: lang, value: en}, {value: "*debug*"}]
        action:
          forward: web
      - priority: 10
        conditions: [{source_ip: [10.0.0.0/8]}]
        action:
          redirect: {protocol: HTTPS, port: "443", status_code: HTTP_301}
    default_action:
      fixed_response: {status_code: 404, content_type: text/plain, message_body: gone}
target_group:
  port: 8080
  stickiness: {type: app_cookie, cookie_name: SESSION, cookie_duration: 3600}
`
	src = strings.Replace(src, "target_group: {port: 8080}\n", "", 1)
	s, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rules := s.LoadBalancer.Rules
	if len(rules) != 2 || rules[0].Priority != 20 || len(rules[0].Conditions) != 3 {
		t.Fatalf("rules = %+v", rules)
	}
	if c := rules[0].Conditions[1]; c.Field != CondHTTPHeader || c.HTTPHeaderName != "X-Canary" || c.Values[0] != "on" {
		t.Errorf("header condition = %+v", c)
	}
	if c := rules[0].Conditions[2]; c.Field != CondQueryString || len(c.QueryStrings) != 2 || c.QueryStrings[1] != (QueryStringPair{Value: "*debug*"}) {
		t.Errorf("query condition = %+v", c)
	}
	if a := rules[0].Action; a.Type != ActionForward || a.TargetGroups[0] != (WeightedTargetGroup{Name: "web", Weight: 1}) {
		t.Errorf("forward = %+v", a)
	}
	r := rules[1].Action.Redirect
	if *r != (Redirect{Protocol: "HTTPS", Host: "#{host}", Port: "443", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301"}) {
		t.Errorf("redirect = %+v", *r)
	}
	if d := s.DefaultAction(); d.Type != ActionFixedResponse || d.FixedResponse.StatusCode != 404 {
		t.Errorf("default action = %+v", d)
	}
	// no content_type: text/plain, explicit, so the simulator and the
	// exports answer alike
	s, err = Parse("s.yaml", []byte(strings.Replace(src, "content_type: text/plain, ", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if f := s.DefaultAction().FixedResponse; f.ContentType != "text/plain" {
		t.Errorf("fixed response without content_type: ContentType %q, want text/plain", f.ContentType)
	}
	if st := s.TargetGroup.Stickiness; st != (Stickiness{Enabled: true, Type: StickinessAppCookie, CookieDuration: time.Hour, CookieName: "SESSION"}) {
		t.Errorf("stickiness = %+v", st)
	}
	plain, err := Parse("s.yaml", []byte(head+group))
	if err != nil {
		t.Fatal(err)
	}
	if d := plain.DefaultAction(); d.Type != ActionForward || d.TargetGroups[0].Name != "web" || plain.TargetGroup.Stickiness.Enabled {
		t.Errorf("AWS's defaults: default action %+v, stickiness %+v", d, plain.TargetGroup.Stickiness)
	}
}

func TestBadListenerRules(t *testing.T) {
	rule := func(body string) string {
		return head + group + "load_balancer:\n  listener:\n    rules:\n" + body
	}
	cases := []struct{ name, yaml, want string }{
		{"priority range", rule("      - {priority: 50001, conditions: [{path_pattern: [/a]}], action: {forward: web}}\n"),
			`s.yaml:8:20: load_balancer.listener.rules[0].priority: 50001 is not allowed; use a priority from 1 to 50000`},
		{"duplicate priority", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {forward: web}}\n      - {priority: 5, conditions: [{path_pattern: [/b]}], action: {forward: web}}\n"),
			`s.yaml:9:20: load_balancer.listener.rules[1].priority: 5 is already the priority of rules[0]; each rule needs its own priority (PriorityInUse)`},
		{"no conditions", rule("      - {priority: 5, action: {forward: web}}\n"),
			`s.yaml:8:9: load_balancer.listener.rules[0].conditions: no conditions; a rule needs at least one (only the default rule has none)`},
		{"unknown target group", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {forward: api}}\n"),
			`load_balancer.listener.rules[0].action.forward: "api" is not a target group of this stack; use web (the stack has one target group, named as the stack)`},
		{"too many condition values", rule("      - priority: 5\n        conditions: [{path_pattern: [/a, /b, /c]}, {http_request_method: [GET, HEAD, PUT]}]\n        action: {forward: web}\n"),
			`load_balancer.listener.rules[0].conditions: 6 condition values given; AWS allows at most 5 condition values per rule`},
		{"too many wildcards", rule("      - priority: 5\n        conditions: [{path_pattern: [\"/a*?*\", \"/b*?*\"]}]\n        action: {forward: web}\n"),
			`6 wildcards (* and ?) given; AWS allows at most 5 condition wildcards per rule`},
		{"four values in a condition", rule("      - priority: 5\n        conditions: [{path_pattern: [/a, /b, /c, /d]}]\n        action: {forward: web}\n"),
			`4 values given; AWS allows up to 3 match evaluations per condition`},
		{"two path conditions", rule("      - priority: 5\n        conditions: [{path_pattern: [/a]}, {path_pattern: [/b]}]\n        action: {forward: web}\n"),
			`rules[0].conditions[1].path_pattern: a second path-pattern condition (the first is conditions[0]); AWS allows one per rule`},
		{"host without dot", rule("      - {priority: 5, conditions: [{host_header: [localhost]}], action: {forward: web}}\n"),
			`rules[0].conditions[0].host_header[0]: "localhost" is not allowed; a host name needs at least one "."`},
		{"lower-case method", rule("      - {priority: 5, conditions: [{http_request_method: [get]}], action: {forward: web}}\n"),
			`"get" is not allowed; use 1-40 characters A-Z, - and _ (case sensitive, no wildcards)`},
		{"source ip", rule("      - {priority: 5, conditions: [{source_ip: [10.0.0.*]}], action: {forward: web}}\n"),
			`"10.0.0.*" is not a CIDR block`},
		{"two conditions in one entry", rule("      - {priority: 5, conditions: [{path_pattern: [/a], source_ip: [10.0.0.0/8]}], action: {forward: web}}\n"),
			`load_balancer.listener.rules[0].conditions[0]: 2 of its keys given; give exactly one of host_header, http_header, http_request_method, path_pattern, query_string, source_ip`},
		{"fixed response code", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {fixed_response: {status_code: 302}}}\n"),
			`rules[0].action.fixed_response.status_code: 302 is not allowed; use a 2XX, 4XX or 5XX code`},
		{"fixed response type", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {fixed_response: {status_code: 200, content_type: text/xml}}}\n"),
			`content_type: "text/xml" is not allowed; use one of text/plain, text/css, text/html, application/javascript, application/json`},
		{"fixed response body", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {fixed_response: {status_code: 200, message_body: " + strings.Repeat("x", 1025) + "}}}\n"),
			`message_body: 1025 characters given; AWS allows at most 1024`},
		{"redirect code", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {redirect: {path: /b, status_code: 303}}}\n"),
			`redirect.status_code: "303" is not allowed; use one of HTTP_301, HTTP_302`},
		{"redirect loop", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {redirect: {status_code: HTTP_302}}}\n"),
			`so it would redirect to itself`},
		// the query does not count: "protocol, hostname, port, or path" (load-balancer-listeners.html#redirect-actions)
		{"redirect loop, query changed", rule("      - {priority: 5, conditions: [{path_pattern: [/a]}], action: {redirect: {query: \"x=1\", status_code: HTTP_302}}}\n"),
			`s.yaml:8:78: load_balancer.listener.rules[0].action.redirect: the protocol, host, port and path are the request's own, so it would redirect to itself`},
		{"stickiness duration", strings.Replace(head, "target_group: {port: 8080}", "target_group: {port: 8080, stickiness: {type: lb_cookie, cookie_duration: 0}}", 1) + group,
			`target_group.stickiness.cookie_duration: 0s is below AWS's minimum of 1s`},
		{"stickiness too long", strings.Replace(head, "target_group: {port: 8080}", "target_group: {port: 8080, stickiness: {type: lb_cookie, cookie_duration: 604801}}", 1) + group,
			`target_group.stickiness.cookie_duration: 604801s is above AWS's maximum of 604800s`},
		{"reserved app cookie", strings.Replace(head, "target_group: {port: 8080}", "target_group: {port: 8080, stickiness: {type: app_cookie, cookie_name: AWSALBX}}", 1) + group,
			`target_group.stickiness.cookie_name: "AWSALBX" is not allowed; names starting with AWSALB, AWSALBAPP and AWSALBTG are reserved`},
		{"app cookie needs a name", strings.Replace(head, "target_group: {port: 8080}", "target_group: {port: 8080, stickiness: {type: app_cookie}}", 1) + group,
			`target_group.stickiness.cookie_name: missing; app_cookie stickiness needs the application's cookie name`},
		{"cross-zone off", strings.Replace(head, "target_group: {port: 8080}", "target_group: {port: 8080, load_balancing_cross_zone_enabled: \"false\", stickiness: {type: lb_cookie}}", 1) + group,
			`sticky sessions are not supported with cross-zone load balancing off`},
		{"weighted random", strings.Replace(head, "target_group: {port: 8080}", "target_group: {port: 8080, load_balancing_algorithm_type: weighted_random, stickiness: {type: lb_cookie}}", 1) + group,
			`sticky sessions are not available with weighted_random`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want *Errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got\n%v\nwant it to contain\n%s", err, c.want)
			}
		})
	}
}
