package stack

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// AWS's limits on listener rules. Quotas for your Application Load
// Balancers, Rules (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
// rules per load balancer (excluding default rules) 100, condition values
// per rule 5, condition wildcards per rule 5, match evaluations per rule
// 5; target groups per action 5. Condition types for listener rules
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html):
// up to three match evaluations per condition, and at most one each of
// host-header, http-request-method, path-pattern and source-ip per rule.
const (
	MaxListenerRules         = 100
	MaxConditionValues       = 5
	MaxConditionWildcards    = 5
	MaxValuesPerCondition    = 3
	MaxTargetGroupsPerAction = 5
	MinRulePriority          = 1
	MaxRulePriority          = 50000
	MaxFixedResponseBody     = 1024
)

// FixedResponseContentTypes are the content types a fixed-response action
// may carry.
var FixedResponseContentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

var (
	hostPattern   = regexp.MustCompile(`^[A-Za-z0-9\-.*?]+$`)
	pathPattern   = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+&*?]+$`)
	methodPattern = regexp.MustCompile(`^[A-Z_-]+$`)
	headerName    = regexp.MustCompile("^[A-Za-z0-9!#$%&'+.^_`|~-]+$")
	cookieName    = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// validateListener checks the listener's rules and default action.
func (p *parser) validateListener(s *Stack) {
	const rpath = "load_balancer.listener.rules"
	lb := s.LoadBalancer
	if len(lb.Rules) > MaxListenerRules {
		p.Errf(rpath, "%d given; AWS allows at most %d rules per load balancer (Quotas for your Application Load Balancers: rules per load balancer, excluding default rules)", len(lb.Rules), MaxListenerRules)
	}
	seen := map[int]int{}
	for i, r := range lb.Rules {
		path := yamlcheck.Index(rpath, i)
		if !p.Has(path + ".priority") {
			p.Errf(path+".priority", "missing; give the rule a priority from %d to %d", MinRulePriority, MaxRulePriority)
		} else if r.Priority < MinRulePriority || r.Priority > MaxRulePriority {
			p.Errf(path+".priority", "%d is not allowed; use a priority from %d to %d", r.Priority, MinRulePriority, MaxRulePriority)
		} else if j, dup := seen[r.Priority]; dup {
			p.Errf(path+".priority", "%d is already the priority of rules[%d]; each rule needs its own priority (PriorityInUse)", r.Priority, j)
		} else {
			seen[r.Priority] = i
		}
		p.validateConditions(path+".conditions", r.Conditions)
		if !p.Has(path + ".action") {
			p.Errf(path+".action", "missing; give one of forward, fixed_response or redirect")
		} else {
			p.validateAction(path+".action", r.Action, s)
		}
	}
	if lb.DefaultAction != nil {
		p.validateAction("load_balancer.listener.default_action", *lb.DefaultAction, s)
	}
}

func (p *parser) validateConditions(path string, cs []RuleCondition) {
	if len(cs) == 0 && !p.Bad(path) {
		p.Errf(path, "no conditions; a rule needs at least one (only the default rule has none)")
		return
	}
	once := map[string]int{}
	values, wildcards := 0, 0
	for i, c := range cs {
		cpath := yamlcheck.Index(path, i) + "." + strings.ReplaceAll(c.Field, "-", "_")
		switch c.Field {
		case CondHostHeader, CondHTTPRequestMethod, CondPathPattern, CondSourceIP:
			if j, dup := once[c.Field]; dup {
				p.Errf(cpath, "a second %s condition (the first is conditions[%d]); AWS allows one per rule: list its values in one condition", c.Field, j)
			}
			once[c.Field] = i
		}
		n := len(c.Values)
		if c.Field == CondQueryString {
			n = len(c.QueryStrings)
		}
		if n == 0 {
			p.Errf(cpath, "no values; a condition needs at least one")
		} else if n > MaxValuesPerCondition {
			p.Errf(cpath, "%d values given; AWS allows up to %d match evaluations per condition", n, MaxValuesPerCondition)
		}
		values += n
		for j, v := range c.Values {
			wildcards += strings.Count(v, "*") + strings.Count(v, "?")
			if msg := checkConditionValue(c.Field, v); msg != "" {
				p.Errf(yamlcheck.Index(cpath, j), "%q %s", v, msg)
			}
		}
		if c.Field == CondHTTPHeader {
			hp := cpath + ".name"
			if !headerName.MatchString(c.HTTPHeaderName) || len(c.HTTPHeaderName) > 40 {
				p.Errf(hp, "%q is not allowed; use a header name of 1-40 characters (letters, digits and !#$%%&'+.^_`|~-), no wildcards", c.HTTPHeaderName)
			}
		}
		for j, q := range c.QueryStrings {
			qp := yamlcheck.Index(cpath, j)
			wildcards += strings.Count(q.Key, "*") + strings.Count(q.Key, "?") + strings.Count(q.Value, "*") + strings.Count(q.Value, "?")
			switch {
			case q.Value == "":
				p.Errf(qp+".value", "missing; a query-string condition needs a value (the key is optional)")
			case len(q.Value) > 128 || len(q.Key) > 128:
				p.Errf(qp, "too long; keys and values are at most 128 characters")
			case !visibleASCII(q.Key) || !visibleASCII(q.Value):
				p.Errf(qp, "%q=%q has characters AWS does not match; rules apply to visible ASCII only", q.Key, q.Value)
			}
		}
	}
	if values > MaxConditionValues {
		p.Errf(path, "%d condition values given; AWS allows at most %d condition values per rule (Quotas for your Application Load Balancers)", values, MaxConditionValues)
	}
	if wildcards > MaxConditionWildcards {
		p.Errf(path, "%d wildcards (* and ?) given; AWS allows at most %d condition wildcards per rule (Quotas for your Application Load Balancers)", wildcards, MaxConditionWildcards)
	}
}

// checkConditionValue explains what is wrong with one value, or "".
func checkConditionValue(field, v string) string {
	switch field {
	case CondHostHeader:
		last := v[strings.LastIndexByte(v, '.')+1:]
		switch {
		case len(v) == 0 || len(v) > 128 || !hostPattern.MatchString(v):
			return "is not allowed; use 1-128 characters: letters, digits, - . and the wildcards * and ?"
		case !strings.Contains(v, "."):
			return "is not allowed; a host name needs at least one \".\""
		case strings.Trim(last, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*?") != "":
			return "is not allowed; only letters may follow the last \".\""
		}
	case CondPathPattern:
		if len(v) == 0 || len(v) > 128 || !pathPattern.MatchString(v) {
			return "is not allowed; use 1-128 characters: letters, digits, _-.$/~\"'@:+& and the wildcards * and ?"
		}
	case CondHTTPRequestMethod:
		if len(v) == 0 || len(v) > 40 || !methodPattern.MatchString(v) {
			return "is not allowed; use 1-40 characters A-Z, - and _ (case sensitive, no wildcards), such as GET"
		}
	case CondHTTPHeader:
		if len(v) == 0 || len(v) > 128 || !visibleASCII(v) {
			return "is not allowed; use 1-128 visible ASCII characters (the wildcards * and ? allowed)"
		}
	case CondSourceIP:
		if _, err := netip.ParsePrefix(v); err != nil {
			return "is not a CIDR block; use one such as 10.0.0.0/8 or 2001:db8::/32 (no wildcards)"
		}
	}
	return ""
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func (p *parser) validateAction(path string, a RuleAction, s *Stack) {
	switch a.Type {
	case "":
		return // reported when read
	case ActionForward:
		fpath := path + ".forward"
		names := s.TargetGroupNames()
		switch {
		case len(a.TargetGroups) == 0:
			p.Errf(fpath, "no target group; name one of %s", strings.Join(names, ", "))
		case len(a.TargetGroups) > MaxTargetGroupsPerAction:
			p.Errf(fpath, "%d target groups given; AWS allows at most %d target groups per action", len(a.TargetGroups), MaxTargetGroupsPerAction)
		}
		seen := map[string]bool{}
		for i, tg := range a.TargetGroups {
			tp := fpath
			if len(a.TargetGroups) > 1 || p.Has(fpath+".target_groups") {
				tp = yamlcheck.Index(fpath+".target_groups", i)
			}
			switch {
			case !slices.Contains(names, tg.Name):
				if s.MultiService() {
					p.Errf(tp, "%q is not a target group of this stack; use a service's: %s", tg.Name, strings.Join(names, ", "))
				} else {
					p.Errf(tp, "%q is not a target group of this stack; use %s (the stack has one target group, named as the stack)", tg.Name, strings.Join(names, ", "))
				}
			case seen[tg.Name]:
				p.Errf(tp, "%q is listed twice; name each target group once", tg.Name)
			}
			seen[tg.Name] = true
			if tg.Weight < 0 || tg.Weight > 999 {
				p.Errf(tp+".weight", "%d is not allowed; use a weight from 0 to 999", tg.Weight)
			}
		}
		if len(a.TargetGroups) > 1 && !slices.ContainsFunc(a.TargetGroups, func(tg WeightedTargetGroup) bool { return tg.Weight > 0 }) {
			p.Errf(fpath+".target_groups", "every weight is 0; give at least one target group a weight above 0, or the forward has nowhere to send")
		}
		if gs := a.GroupStickiness; gs != nil && gs.Enabled {
			spath := fpath + ".stickiness.duration"
			switch {
			case !p.Has(spath):
				p.Errf(spath, "missing; target group stickiness needs its duration (AWS: DurationSeconds, required when enabled): 1s to 7 days")
			case gs.Duration < MinGroupStickiness || gs.Duration > MaxGroupStickiness || gs.Duration%time.Second != 0:
				p.Errf(spath, "%s is not allowed; use whole seconds from 1s to 7 days (604800 s), as AWS's TargetGroupStickinessConfig", gs.Duration)
			}
		}
	case ActionFixedResponse:
		fpath := path + ".fixed_response"
		f := a.FixedResponse
		if c := f.StatusCode; !(c >= 200 && c <= 299 || c >= 400 && c <= 599) {
			p.Errf(fpath+".status_code", "%d is not allowed; use a 2XX, 4XX or 5XX code", c)
		}
		if f.ContentType != "" {
			p.OneOf(fpath+".content_type", f.ContentType, FixedResponseContentTypes)
		}
		if len(f.MessageBody) > MaxFixedResponseBody {
			p.Errf(fpath+".message_body", "%d characters given; AWS allows at most %d", len(f.MessageBody), MaxFixedResponseBody)
		}
	case ActionRedirect:
		p.validateRedirect(path+".redirect", a.Redirect)
	}
}

func (p *parser) validateRedirect(path string, r *Redirect) {
	p.OneOf(path+".status_code", r.StatusCode, []string{"HTTP_301", "HTTP_302"})
	p.OneOf(path+".protocol", r.Protocol, []string{"HTTP", "HTTPS", "#{protocol}"})
	if r.Port != "#{port}" {
		if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
			p.Errf(path+".port", "%q is not allowed; use a port 1-65535 or #{port}", r.Port)
		}
	}
	if r.Host == "" || len(r.Host) > 128 {
		p.Errf(path+".host", "%q is not allowed; use 1-128 characters (#{host} keeps the request's host)", r.Host)
	}
	if !strings.HasPrefix(r.Path, "/") || len(r.Path) > 128 {
		p.Errf(path+".path", "%q is not allowed; use 1-128 characters starting with / (/#{path} keeps the request's path)", r.Path)
	}
	if strings.HasPrefix(r.Query, "?") || len(r.Query) > 128 {
		p.Errf(path+".query", "%q is not allowed; use 0-128 characters without the leading ? (#{query} keeps the request's query)", r.Query)
	}
	// "You must modify at least one of the following components to avoid a
	// redirect loop: protocol, hostname, port, or path" (load-balancer-
	// listeners.html#redirect-actions): the query does not count.
	if r.Protocol == "#{protocol}" && r.Host == "#{host}" && r.Port == "#{port}" && r.Path == "/#{path}" {
		p.Errf(path, "the protocol, host, port and path are the request's own, so it would redirect to itself; AWS: \"You must modify at least one of the following components to avoid a redirect loop: protocol, hostname, port, or path\"")
	}
}

// validateStickiness checks target_group.stickiness.
func (p *parser) validateStickiness(tg TargetGroup) {
	const path = "target_group.stickiness"
	st := tg.Stickiness
	if !p.Has(path) {
		return
	}
	if !p.OneOf(path+".type", st.Type, []string{StickinessLBCookie, StickinessAppCookie}) {
		return
	}
	p.durRange(path+".cookie_duration", st.CookieDuration, time.Second, 7*24*time.Hour)
	switch {
	case st.Type == StickinessLBCookie && st.CookieName != "":
		p.Errf(path+".cookie_name", "%q is set, but lb_cookie stickiness uses the load balancer's own cookie (AWSALB); remove it or use type app_cookie", st.CookieName)
	case st.Type == StickinessAppCookie && st.CookieName == "":
		p.Errf(path+".cookie_name", "missing; app_cookie stickiness needs the application's cookie name")
	case st.Type == StickinessAppCookie && strings.HasPrefix(strings.ToUpper(st.CookieName), "AWSALB"):
		p.Errf(path+".cookie_name", "%q is not allowed; names starting with AWSALB, AWSALBAPP and AWSALBTG are reserved for the load balancer", st.CookieName)
	case st.Type == StickinessAppCookie && !cookieName.MatchString(st.CookieName):
		p.Errf(path+".cookie_name", "%q is not a cookie name; use letters, digits and !#$%%&'*+.^_`|~-", st.CookieName)
	}
	if st.Enabled && tg.CrossZone == CrossZoneFalse { // disable-cross-zone.html
		p.Errf(path+".enabled", "sticky sessions are not supported with cross-zone load balancing off; turn stickiness off or set load_balancing_cross_zone_enabled to true")
	}
	if st.Enabled && tg.Algorithm == "weighted_random" {
		p.Errf(path+".enabled", "sticky sessions are not available with weighted_random; turn stickiness off or use round_robin or least_outstanding_requests")
	}
}
