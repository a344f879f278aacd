package stack

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// Listener rules and target group stickiness as the ALB has them
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/sticky-sessions.html).
//
// In a stack file:
//
//	load_balancer:
//	  listener:
//	    rules:
//	      - priority: 10
//	        conditions:
//	          - path_pattern: ["/api/*"]
//	          - http_header: {name: X-Canary, values: ["on"]}
//	          - query_string: [{key: lang, value: en}]
//	        action:
//	          forward: web            # a target group by name
//	      - priority: 15
//	        conditions: [{path_pattern: ["/beta/*"]}]
//	        action:
//	          forward:                # by weight; AWSALBTG keeps a client on its group for 1h
//	            target_groups: [{name: blue, weight: 90}, {name: green, weight: 10}]
//	            stickiness: {enabled: true, duration: 1h}
//	      - priority: 20
//	        conditions: [{path_pattern: ["/old/*"]}]
//	        action:
//	          redirect: {path: "/new/#{path}", status_code: HTTP_301}
//	    default_action:            # AWS: forward to the stack's target group
//	      fixed_response: {status_code: 404, content_type: text/plain, message_body: "not here"} # content_type: text/plain when not given
//	target_group:
//	  stickiness: {type: lb_cookie, cookie_duration: 3600}

// Condition fields, as AWS's API names them.
const (
	CondHostHeader        = "host-header"
	CondHTTPHeader        = "http-header"
	CondHTTPRequestMethod = "http-request-method"
	CondPathPattern       = "path-pattern"
	CondQueryString       = "query-string"
	CondSourceIP          = "source-ip"
)

// Action types, as AWS's API names them.
const (
	ActionForward       = "forward"
	ActionFixedResponse = "fixed-response"
	ActionRedirect      = "redirect"
)

// Stickiness types (stickiness.type).
const (
	StickinessLBCookie  = "lb_cookie"
	StickinessAppCookie = "app_cookie"
)

// ListenerRule is one rule of the listener: the first rule by priority
// whose conditions all match takes the request.
type ListenerRule struct {
	Priority   int
	Conditions []RuleCondition
	Action     RuleAction
}

// RuleCondition is one condition; a request meets it when any of its
// values matches.
type RuleCondition struct {
	Field          string   // host-header, http-header, http-request-method, path-pattern, query-string, source-ip
	Values         []string // every field but query-string
	HTTPHeaderName string   // http-header only
	QueryStrings   []QueryStringPair
}

// QueryStringPair is one key/value of a query-string condition; an empty
// key matches any key.
type QueryStringPair struct {
	Key, Value string
}

// RuleAction is what a rule (or the default rule) does: exactly one of
// forward, fixed-response and redirect.
type RuleAction struct {
	Type         string
	TargetGroups []WeightedTargetGroup // forward
	// GroupStickiness is a forward's target group stickiness (AWS's
	// TargetGroupStickinessConfig; forward.stickiness in the stack, as
	// Terraform's forward { stickiness {} }): nil when not given.
	GroupStickiness *GroupStickiness
	FixedResponse   *FixedResponse
	Redirect        *Redirect
}

// GroupStickiness is a forward action's target group stickiness: while
// enabled, the load balancer's AWSALBTG cookie keeps a client on the
// target group it was first sent to for Duration (AWS: DurationSeconds,
// 1-604800, required when enabled).
type GroupStickiness struct {
	Enabled  bool
	Duration time.Duration
}

// Target group stickiness durations, as AWS allows them
// (TargetGroupStickinessConfig: 1-604800 seconds).
const (
	MinGroupStickiness = time.Second
	MaxGroupStickiness = 7 * 24 * time.Hour
)

// WeightedTargetGroup is one target group of a forward action, by name.
type WeightedTargetGroup struct {
	Name   string
	Weight int // 0-999; 1 when not given
}

// DefaultFixedResponseContentType is a fixed response's content type when
// the stack gives none. AWS's API leaves ContentType optional without
// documenting what the load balancer then sends, and Terraform's provider
// requires one; so the lab makes the default explicit, and the simulator
// and both exports answer with the same text/plain.
const DefaultFixedResponseContentType = "text/plain"

// FixedResponse is a fixed-response action.
type FixedResponse struct {
	StatusCode  int
	ContentType string // text/plain when the stack gives none (DefaultFixedResponseContentType)
	MessageBody string
}

// Redirect is a redirect action; each part defaults to the request's own
// (#{protocol}, #{host}, #{port}, /#{path}, #{query}).
type Redirect struct {
	Protocol, Host, Port, Path, Query string
	StatusCode                        string // HTTP_301 or HTTP_302
}

// Stickiness is the target group's sticky sessions (stickiness.*).
type Stickiness struct {
	Enabled        bool
	Type           string        // lb_cookie or app_cookie
	CookieDuration time.Duration // 1 s to 7 days; AWS's default 1 day
	CookieName     string        // app_cookie: the application's cookie
}

// DefaultStickinessDuration is stickiness.lb_cookie.duration_seconds's and
// app_cookie's default: 86400 s.
const DefaultStickinessDuration = 24 * time.Hour

// TargetGroupNames are the names a forward action may name: the services'
// target groups (services.go), or a one-service stack's one target group,
// named as the stack.
func (s *Stack) TargetGroupNames() []string {
	var names []string
	for _, sv := range s.ServiceList() {
		names = append(names, sv.Name)
	}
	return names
}

// DefaultAction is the listener's default action: the stack's, or a
// forward to its target group.
func (s *Stack) DefaultAction() RuleAction {
	if s.LoadBalancer.DefaultAction != nil {
		return *s.LoadBalancer.DefaultAction
	}
	return RuleAction{Type: ActionForward, TargetGroups: []WeightedTargetGroup{{Name: s.TargetGroupNames()[0], Weight: 1}}}
}

var conditionKeys = []string{"host_header", "http_header", "http_request_method", "path_pattern", "query_string", "source_ip"}

// listenerRules reads listener.rules and listener.default_action.
func (p *parser) listenerRules(l map[string]*yaml.Node, lpath string, lb *LoadBalancer) {
	rpath := yamlcheck.Sub(lpath, "rules")
	for i, rn := range p.List(l["rules"], rpath) {
		ipath := yamlcheck.Index(rpath, i)
		m := p.Mapping(rn, ipath, "priority", "conditions", "action")
		var r ListenerRule
		p.Int(m, ipath, "priority", &r.Priority)
		cpath := yamlcheck.Sub(ipath, "conditions")
		for j, cn := range p.List(m["conditions"], cpath) {
			if c, ok := p.condition(cn, yamlcheck.Index(cpath, j)); ok {
				r.Conditions = append(r.Conditions, c)
			}
		}
		if m["action"] != nil {
			r.Action = p.ruleAction(m["action"], yamlcheck.Sub(ipath, "action"))
		}
		lb.Rules = append(lb.Rules, r)
	}
	if l["default_action"] != nil {
		a := p.ruleAction(l["default_action"], yamlcheck.Sub(lpath, "default_action"))
		lb.DefaultAction = &a
	}
}

// oneKey reads a mapping that must hold exactly one of keys.
func (p *parser) oneKey(n *yaml.Node, path string, keys []string) (string, *yaml.Node, bool) {
	m := p.Mapping(n, path, keys...)
	if m == nil {
		return "", nil, false
	}
	var found []string
	for _, k := range keys {
		if m[k] != nil {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		p.ErrAt(n, path, "%d of its keys given; give exactly one of %s", len(found), strings.Join(keys, ", "))
		return "", nil, false
	}
	return found[0], m[found[0]], true
}

func (p *parser) condition(n *yaml.Node, path string) (RuleCondition, bool) {
	key, v, ok := p.oneKey(n, path, conditionKeys)
	if !ok {
		return RuleCondition{}, false
	}
	c := RuleCondition{Field: aws(key)}
	vpath := yamlcheck.Sub(path, key)
	switch key {
	case "http_header":
		h := p.Mapping(v, vpath, "name", "values")
		p.Str(h, vpath, "name", &c.HTTPHeaderName)
		p.StrList(h, vpath, "values", &c.Values)
	case "query_string":
		for i, qn := range p.List(v, vpath) {
			qpath := yamlcheck.Index(vpath, i)
			q := p.Mapping(qn, qpath, "key", "value")
			var pair QueryStringPair
			p.Str(q, qpath, "key", &pair.Key)
			p.Str(q, qpath, "value", &pair.Value)
			c.QueryStrings = append(c.QueryStrings, pair)
		}
	default:
		p.StrList(map[string]*yaml.Node{key: v}, path, key, &c.Values)
	}
	return c, true
}

// aws turns a stack key (path_pattern) into AWS's name (path-pattern).
func aws(key string) string {
	b := []byte(key)
	for i := range b {
		if b[i] == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

func (p *parser) ruleAction(n *yaml.Node, path string) RuleAction {
	key, v, ok := p.oneKey(n, path, []string{"forward", "fixed_response", "redirect"})
	if !ok {
		return RuleAction{}
	}
	a := RuleAction{Type: aws(key)}
	vpath := yamlcheck.Sub(path, key)
	switch key {
	case "forward":
		if v.Kind == yaml.ScalarNode { // forward: NAME
			a.TargetGroups = []WeightedTargetGroup{{Name: v.Value, Weight: 1}}
			break
		}
		f := p.Mapping(v, vpath, "target_groups", "stickiness")
		if f["stickiness"] != nil {
			spath := yamlcheck.Sub(vpath, "stickiness")
			sm := p.Mapping(f["stickiness"], spath, "enabled", "duration")
			gs := &GroupStickiness{Enabled: true} // a block given is wanted: enabled unless it says not (Terraform and CloudFormation default enabled to false; the export always writes it)
			p.Bool(sm, spath, "enabled", &gs.Enabled)
			p.Dur(sm, spath, "duration", &gs.Duration, false)
			a.GroupStickiness = gs
		}
		tpath := yamlcheck.Sub(vpath, "target_groups")
		for i, tn := range p.List(f["target_groups"], tpath) {
			ipath := yamlcheck.Index(tpath, i)
			t := p.Mapping(tn, ipath, "name", "weight")
			tg := WeightedTargetGroup{Weight: 1}
			p.Str(t, ipath, "name", &tg.Name)
			p.Int(t, ipath, "weight", &tg.Weight)
			a.TargetGroups = append(a.TargetGroups, tg)
		}
	case "fixed_response":
		f := p.Mapping(v, vpath, "status_code", "content_type", "message_body")
		a.FixedResponse = &FixedResponse{}
		p.Int(f, vpath, "status_code", &a.FixedResponse.StatusCode)
		p.Str(f, vpath, "content_type", &a.FixedResponse.ContentType)
		p.Str(f, vpath, "message_body", &a.FixedResponse.MessageBody)
		if a.FixedResponse.ContentType == "" {
			a.FixedResponse.ContentType = DefaultFixedResponseContentType
		}
	case "redirect":
		r := p.Mapping(v, vpath, "protocol", "host", "port", "path", "query", "status_code")
		a.Redirect = &Redirect{Protocol: "#{protocol}", Host: "#{host}", Port: "#{port}", Path: "/#{path}", Query: "#{query}"}
		p.Str(r, vpath, "protocol", &a.Redirect.Protocol)
		p.Str(r, vpath, "host", &a.Redirect.Host)
		p.Str(r, vpath, "port", &a.Redirect.Port)
		p.Str(r, vpath, "path", &a.Redirect.Path)
		p.Str(r, vpath, "query", &a.Redirect.Query)
		p.Str(r, vpath, "status_code", &a.Redirect.StatusCode)
	}
	return a
}

// stickiness reads target_group.stickiness.
func (p *parser) stickiness(m map[string]*yaml.Node, path string, st *Stickiness) {
	if m["stickiness"] == nil {
		return
	}
	spath := yamlcheck.Sub(path, "stickiness")
	s := p.Mapping(m["stickiness"], spath, "enabled", "type", "cookie_duration", "cookie_name")
	st.Enabled = true // as Terraform's stickiness block: enabled unless it says not
	p.Bool(s, spath, "enabled", &st.Enabled)
	p.Str(s, spath, "type", &st.Type)
	p.Dur(s, spath, "cookie_duration", &st.CookieDuration, false)
	p.Str(s, spath, "cookie_name", &st.CookieName)
}
