package alb

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Listener rules (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html):
// "Rules are evaluated in priority order, from the lowest value to the
// highest value. The default rule is evaluated last." A rule matches when
// every one of its conditions does; a condition matches when any of its
// values does (rule-condition-types.html). Host names, header values and
// query strings compare without regard to case; paths and methods with it.
// * matches 0 or more characters, ? exactly one.

// Condition fields, as AWS names them.
const (
	FieldHostHeader        = "host-header"
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldPathPattern       = "path-pattern"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// Action types, as AWS names them (and as actions_executed logs them).
const (
	ActionForward       = "forward"
	ActionFixedResponse = "fixed-response"
	ActionRedirect      = "redirect"
)

// Rule is one listener rule.
type Rule struct {
	Priority   int
	Conditions []Condition
	Action     RuleAction
}

// Condition is one rule condition.
type Condition struct {
	Field      string
	Values     []string    // patterns; source-ip: CIDR blocks
	HeaderName string      // http-header
	Query      []QueryPair // query-string
	prefixes   []netip.Prefix
	header     string // HeaderName canonicalised once (NewRules), not per request
}

// QueryPair is one key/value pattern of a query-string condition; an empty
// Key matches any key.
type QueryPair struct{ Key, Value string }

// RuleAction is what a rule does.
type RuleAction struct {
	Type        string
	TargetGroup string // forward: the target group's name
	// Weighted is a forward to several target groups by weight (groups.go);
	// when set, TargetGroup is not used.
	Weighted []WeightedGroup
	// Stickiness is a weighted forward's target group stickiness
	// (AWSALBTG, groups.go): how long a client stays on the target group
	// it was first sent to; 0: off. 1 s to 7 days.
	Stickiness time.Duration
	// fixed-response
	StatusCode  int
	ContentType string
	Body        string
	// redirect: each part may hold #{protocol}, #{host}, #{port}, #{path}
	// (the request's path without its leading /) and #{query}.
	Redirect Redirect
}

// Redirect is a redirect action's target URL parts and code (301 or 302).
type Redirect struct {
	Protocol, Host, Port, Path, Query string
	Code                              int
}

// Rules is a listener's rules in priority order and its default action.
type Rules struct {
	rules []Rule
	def   RuleAction
	names []string // forwardable target groups
	// sourceIP says a rule has a source-ip condition: only then does the
	// node parse the client's address.
	sourceIP bool
	// tgSeal seals the AWSALBTG cookies of the forwards with target group
	// stickiness (groups.go); nil when none has it.
	tgSeal cipher.AEAD
}

// NewRules checks and orders rules. targetGroups are the names a forward
// may name (today the load balancer's one target group).
func NewRules(rules []Rule, def RuleAction, targetGroups []string) (*Rules, error) {
	rs := &Rules{rules: slices.Clone(rules), def: def, names: targetGroups}
	slices.SortFunc(rs.rules, func(a, b Rule) int { return a.Priority - b.Priority })
	var errs []error
	for i := range rs.rules {
		r := &rs.rules[i]
		if i > 0 && rs.rules[i-1].Priority == r.Priority {
			errs = append(errs, fmt.Errorf("rule priority %d: given twice", r.Priority))
		}
		r.Conditions = slices.Clone(r.Conditions)
		for j := range r.Conditions {
			c := &r.Conditions[j]
			c.header = textproto.CanonicalMIMEHeaderKey(c.HeaderName)
			if c.Field == FieldSourceIP {
				rs.sourceIP = true
				c.prefixes = nil
				for _, v := range c.Values {
					p, err := netip.ParsePrefix(v)
					if err != nil {
						errs = append(errs, fmt.Errorf("rule priority %d: source-ip %q: %w", r.Priority, v, err))
						continue
					}
					c.prefixes = append(c.prefixes, p.Masked())
				}
			}
		}
		if err := rs.checkAction(r.Action); err != nil {
			errs = append(errs, fmt.Errorf("rule priority %d: %w", r.Priority, err))
		}
	}
	if err := rs.checkAction(def); err != nil {
		errs = append(errs, fmt.Errorf("default action: %w", err))
	}
	sticky := def.Stickiness > 0
	for _, r := range rs.rules {
		sticky = sticky || r.Action.Stickiness > 0
	}
	if sticky {
		aead, err := newAEAD()
		if err != nil {
			errs = append(errs, err)
		}
		rs.tgSeal = aead
	}
	return rs, errors.Join(errs...)
}

func (rs *Rules) checkAction(a RuleAction) error {
	if a.Stickiness != 0 && (a.Type != ActionForward || a.Stickiness < time.Second || a.Stickiness > 7*24*time.Hour) {
		return fmt.Errorf("target group stickiness %s: a forward's, 1s to 7 days", a.Stickiness)
	}
	switch a.Type {
	case ActionForward:
		for _, w := range a.Weighted {
			if !slices.Contains(rs.names, w.Name) {
				return fmt.Errorf("forward to %q: not a target group of this load balancer (%s)", w.Name, strings.Join(rs.names, ", "))
			}
		}
		if len(a.Weighted) > 0 {
			return nil
		}
		if !slices.Contains(rs.names, a.TargetGroup) {
			return fmt.Errorf("forward to %q: not a target group of this load balancer (%s)", a.TargetGroup, strings.Join(rs.names, ", "))
		}
	case ActionFixedResponse:
		if c := a.StatusCode; !(c >= 200 && c <= 299 || c >= 400 && c <= 599) {
			return fmt.Errorf("fixed-response code %d: use 2XX, 4XX or 5XX", c)
		}
	case ActionRedirect:
		if a.Redirect.Code != 301 && a.Redirect.Code != 302 {
			return fmt.Errorf("redirect code %d: use 301 or 302", a.Redirect.Code)
		}
	default:
		return fmt.Errorf("unknown action type %q", a.Type)
	}
	return nil
}

// Evaluate picks the action for r: the first rule by priority whose
// conditions all match, else the default action (priority 0, as the access
// log's matched_rule_priority has it). client is the connection's source
// address (source-ip conditions look at it, not at X-Forwarded-For).
func (rs *Rules) Evaluate(r *http.Request, client netip.Addr) (priority int, a *RuleAction) {
	for i := range rs.rules {
		rule := &rs.rules[i]
		if matchAll(rule.Conditions, r, client) {
			return rule.Priority, &rule.Action
		}
	}
	return 0, &rs.def
}

// NeedsClient says whether Evaluate looks at its client argument (a rule
// has a source-ip condition); without it the caller may pass the zero Addr.
func (rs *Rules) NeedsClient() bool { return rs.sourceIP }

func matchAll(cs []Condition, r *http.Request, client netip.Addr) bool {
	for i := range cs {
		if !cs[i].match(r, client) {
			return false
		}
	}
	return true
}

func (c *Condition) match(r *http.Request, client netip.Addr) bool {
	switch c.Field {
	case FieldPathPattern:
		return anyMatch(c.Values, r.URL.Path, false)
	case FieldHostHeader:
		return anyMatch(c.Values, hostOnly(r.Host), true)
	case FieldHTTPRequestMethod:
		return slices.Contains(c.Values, r.Method)
	case FieldHTTPHeader:
		for _, v := range r.Header[c.header] {
			if anyMatch(c.Values, v, true) {
				return true
			}
		}
		return false
	case FieldQueryString:
		return queryMatch(c.Query, r.URL.RawQuery)
	case FieldSourceIP:
		client = client.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(client) {
				return true
			}
		}
		return false
	}
	return false
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if Wildcard(p, s, fold) {
			return true
		}
	}
	return false
}

// hostOnly is a Host header without its port.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

// queryMatch says whether any of the query's parameters matches any pair.
// Keys and values are compared decoded, without regard to case.
func queryMatch(pairs []QueryPair, raw string) bool {
	for raw != "" {
		var param string
		param, raw, _ = strings.Cut(raw, "&")
		k, v, hasValue := strings.Cut(param, "=")
		if !hasValue {
			v, k = k, ""
		}
		k, v = unescape(k), unescape(v)
		for _, p := range pairs {
			if (p.Key == "" || hasValue && Wildcard(p.Key, k, true)) && Wildcard(p.Value, v, true) {
				return true
			}
		}
	}
	return false
}

// unescape decodes a query component; it allocates only when there is
// something to decode.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// Wildcard matches s against pattern, where * is any run of characters
// (including none) and ? exactly one; fold ignores ASCII case.
func Wildcard(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*': // before a literal match: a '*' in s is a plain character
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || same(pattern[p], s[i], fold)):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func same(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// RedirectURL is where a redirect action sends r; listenerPort fills
// #{port}. Parts left as the request's own keep it.
func (a *RuleAction) RedirectURL(r *http.Request, listenerPort string) string {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	sub := strings.NewReplacer("#{protocol}", "http", "#{host}", hostOnly(r.Host), "#{port}", listenerPort,
		"#{path}", path, "#{query}", r.URL.RawQuery)
	rd := a.Redirect
	proto := strings.ToLower(sub.Replace(rd.Protocol))
	host := sub.Replace(rd.Host)
	port := sub.Replace(rd.Port)
	var b strings.Builder
	b.WriteString(proto)
	b.WriteString("://")
	b.WriteString(net.JoinHostPort(host, port))
	p := sub.Replace(rd.Path)
	if !strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	b.WriteString(p)
	if q := sub.Replace(rd.Query); q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	return b.String()
}

// writeFixed answers with a fixed-response action, as the ALB does.
func writeFixed(w http.ResponseWriter, a *RuleAction) {
	h := w.Header()
	h["Server"] = []string{"awselb/2.0"}
	if a.ContentType != "" {
		h["Content-Type"] = []string{a.ContentType}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(a.Body))}
	w.WriteHeader(a.StatusCode)
	io.WriteString(w, a.Body)
}

// writeRedirect answers r with a redirect action.
func writeRedirect(w http.ResponseWriter, loc string, code int) {
	h := w.Header()
	h["Server"] = []string{"awselb/2.0"}
	h["Location"] = []string{loc}
	h["Content-Type"] = []string{"text/html"}
	w.WriteHeader(code)
	title := strconv.Itoa(code) + " " + http.StatusText(code)
	fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", title, title)
}
