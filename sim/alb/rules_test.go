package alb

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestWildcard(t *testing.T) {
	cases := []struct {
		pattern, s string
		fold, want bool
	}{
		{"/api/*", "/api/todos", false, true},
		{"/api/*", "/api/", false, true},
		{"/api/*", "/api", false, false},
		{"/API/*", "/api/x", false, false}, // paths are case sensitive
		{"*.example.com", "test.example.com", true, true},
		{"*.example.com", "example.com", true, false}, // AWS's own example
		{"*.EXAMPLE.com", "a.example.COM", true, true},
		{"?.example.com", "ab.example.com", true, false},
		{"?.example.com", "a.example.com", true, true},
		{"*", "", false, true},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxbyy", false, false},
		{"*debug*", "x-DEBUG-y", true, true},
		{"/img/*.png", "/img/*x.png", false, true}, // a literal * in the input is a plain character
		{"/a/*", "/a/*b", false, true},
		{"/a/*b", "/a/*", false, false},
		{"/a/?", "/a/*", false, true},
	}
	for _, c := range cases {
		if got := Wildcard(c.pattern, c.s, c.fold); got != c.want {
			t.Errorf("Wildcard(%q, %q, fold=%v) = %v, want %v", c.pattern, c.s, c.fold, got, c.want)
		}
	}
}

func mustRules(t testing.TB, rules []Rule, def *RuleAction) *Rules {
	t.Helper()
	d := RuleAction{Type: ActionForward, TargetGroup: "web"}
	if def != nil {
		d = *def
	}
	rs, err := NewRules(rules, d, []string{"web"})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestEvaluate(t *testing.T) {
	fixed := func(code int) RuleAction { return RuleAction{Type: ActionFixedResponse, StatusCode: code} }
	rs := mustRules(t, []Rule{
		{Priority: 30, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/api/*"}}}, Action: fixed(230)},
		{Priority: 10, Conditions: []Condition{ // two conditions: both must match
			{Field: FieldPathPattern, Values: []string{"/api/admin*"}},
			{Field: FieldHTTPRequestMethod, Values: []string{"POST", "PUT"}},
		}, Action: fixed(210)},
		{Priority: 20, Conditions: []Condition{{Field: FieldHostHeader, Values: []string{"*.example.com"}}}, Action: fixed(220)},
		{Priority: 40, Conditions: []Condition{{Field: FieldHTTPHeader, HeaderName: "x-canary", Values: []string{"on", "yes"}}}, Action: fixed(240)},
		{Priority: 50, Conditions: []Condition{{Field: FieldQueryString, Query: []QueryPair{{Key: "lang", Value: "en*"}, {Value: "debug"}}}}, Action: fixed(250)},
		{Priority: 60, Conditions: []Condition{{Field: FieldSourceIP, Values: []string{"10.1.0.0/16", "2001:db8::/32"}}}, Action: fixed(260)},
	}, nil)
	cases := []struct {
		name, method, url, client string
		header                    [2]string
		want                      int // the matched priority
	}{
		{"default when nothing matches", "GET", "http://lb/other", "127.0.0.1", [2]string{}, 0},
		{"path", "GET", "http://lb/api/todos", "127.0.0.1", [2]string{}, 30},
		{"lower priority number wins", "POST", "http://lb/api/admin/users", "127.0.0.1", [2]string{}, 10},
		{"all conditions must match", "GET", "http://lb/api/admin/users", "127.0.0.1", [2]string{}, 30},
		{"method is case sensitive", "post", "http://lb/api/admin", "127.0.0.1", [2]string{}, 30},
		{"path is case sensitive", "GET", "http://lb/API/todos", "127.0.0.1", [2]string{}, 0},
		{"path ignores the query", "GET", "http://lb/x?p=/api/", "127.0.0.1", [2]string{}, 0},
		{"host ignores case and port", "GET", "http://Shop.EXAMPLE.com:8080/x", "127.0.0.1", [2]string{}, 20},
		{"host wildcard needs a label", "GET", "http://example.com/x", "127.0.0.1", [2]string{}, 0},
		{"header name and value ignore case", "GET", "http://lb/x", "127.0.0.1", [2]string{"X-CANARY", "ON"}, 40},
		{"header value must match", "GET", "http://lb/x", "127.0.0.1", [2]string{"X-Canary", "off"}, 0},
		{"query key and value", "GET", "http://lb/x?a=1&LANG=en-GB", "127.0.0.1", [2]string{}, 50},
		{"query value with any key", "GET", "http://lb/x?mode=Debug", "127.0.0.1", [2]string{}, 50},
		{"query percent-decoded", "GET", "http://lb/x?lang=%65n", "127.0.0.1", [2]string{}, 50},
		{"query no match", "GET", "http://lb/x?lang=fr", "127.0.0.1", [2]string{}, 0},
		{"source ip in CIDR", "GET", "http://lb/x", "10.1.2.3", [2]string{}, 60},
		{"source ip v6", "GET", "http://lb/x", "2001:db8::1", [2]string{}, 60},
		{"source ip outside", "GET", "http://lb/x", "10.2.0.1", [2]string{}, 0},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.url, nil)
		if c.header[0] != "" {
			r.Header.Set(c.header[0], c.header[1])
		}
		prio, a := rs.Evaluate(r, netip.MustParseAddr(c.client))
		if prio != c.want {
			t.Errorf("%s: matched priority %d, want %d", c.name, prio, c.want)
		}
		if c.want == 0 && a.Type != ActionForward || c.want != 0 && a.StatusCode != 200+c.want {
			t.Errorf("%s: action %+v", c.name, a)
		}
	}
}

func TestNewRulesRefuses(t *testing.T) {
	_, err := NewRules([]Rule{
		{Priority: 1, Action: RuleAction{Type: ActionForward, TargetGroup: "api"}},
		{Priority: 1, Action: RuleAction{Type: ActionRedirect, Redirect: Redirect{Code: 303}}},
	}, RuleAction{Type: ActionFixedResponse, StatusCode: 302}, []string{"web"})
	for _, want := range []string{`forward to "api": not a target group of this load balancer (web)`, "priority 1: given twice", "redirect code 303", "default action: fixed-response code 302"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

func TestRedirectURL(t *testing.T) {
	cases := []struct {
		rd   Redirect
		url  string
		want string
	}{
		{Redirect{Protocol: "HTTPS", Host: "#{host}", Port: "443", Path: "/#{path}", Query: "#{query}"}, "http://shop.example.com/a/b?x=1", "https://shop.example.com:443/a/b?x=1"},
		{Redirect{Protocol: "#{protocol}", Host: "new.example.com", Port: "#{port}", Path: "/v2/#{path}", Query: "#{query}&from=v1"}, "http://old.example.com:8080/items?id=7", "http://new.example.com:80/v2/items?id=7&from=v1"},
		{Redirect{Protocol: "#{protocol}", Host: "#{host}", Port: "#{port}", Path: "/new", Query: ""}, "http://a.example.com/old?q=1", "http://a.example.com:80/new"},
	}
	for _, c := range cases {
		a := RuleAction{Type: ActionRedirect, Redirect: c.rd}
		if got := a.RedirectURL(httptest.NewRequest("GET", c.url, nil), "80"); got != c.want {
			t.Errorf("%+v on %s = %s, want %s", c.rd, c.url, got, c.want)
		}
	}
}

// BenchmarkRules measures rule evaluation over 1 and 10 rules that do not
// match (the worst case: every rule is evaluated, then the default), beside
// the no-rule path, which evaluates nothing. Each rule has a path and a
// header condition, the common shape.
func BenchmarkRules(b *testing.B) {
	req := httptest.NewRequest("GET", "http://shop.example.com/api/todos?page=2", nil)
	req.Header.Set("X-Canary", "off")
	client := netip.MustParseAddr("127.0.0.1")
	b.Run("none", func(b *testing.B) {
		var rs *Rules // what the node holds without rules: nothing is evaluated
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if rs != nil {
				rs.Evaluate(req, client)
			}
		}
	})
	for _, n := range []int{1, 10} {
		var rules []Rule
		for i := 0; i < n; i++ {
			rules = append(rules, Rule{Priority: i + 1, Conditions: []Condition{
				{Field: FieldPathPattern, Values: []string{"/svc" + strconv.Itoa(i) + "/*"}},
				{Field: FieldHTTPHeader, HeaderName: "X-Canary", Values: []string{"on"}},
			}, Action: RuleAction{Type: ActionFixedResponse, StatusCode: 404}})
		}
		rs := mustRules(b, rules, nil)
		b.Run(strconv.Itoa(n)+"-rules", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if p, _ := rs.Evaluate(req, client); p != 0 {
					b.Fatal("a rule matched")
				}
			}
		})
	}
	// header first, its name as a stack writes it (lower case): every rule
	// reads the header
	for _, n := range []int{1, 10} {
		var rules []Rule
		for i := 0; i < n; i++ {
			rules = append(rules, Rule{Priority: i + 1, Conditions: []Condition{
				{Field: FieldHTTPHeader, HeaderName: "x-canary", Values: []string{"on"}},
				{Field: FieldPathPattern, Values: []string{"/svc" + strconv.Itoa(i) + "/*"}},
			}, Action: RuleAction{Type: ActionFixedResponse, StatusCode: 404}})
		}
		rs := mustRules(b, rules, nil)
		b.Run(strconv.Itoa(n)+"-header-rules", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if p, _ := rs.Evaluate(req, client); p != 0 {
					b.Fatal("a rule matched")
				}
			}
		})
	}
}

// BenchmarkProxyRules is BenchmarkProxy with 0, 1 and 10 listener rules
// that do not match, so every request evaluates them all and is then
// forwarded by the default action: the whole routing path's cost of rules.
func BenchmarkProxyRules(b *testing.B) {
	for _, n := range []int{0, 1, 10} {
		b.Run(strconv.Itoa(n)+"-rules", func(b *testing.B) {
			h := newHarness(b, func(c *Config) {
				c.TargetGroupName = "web"
				for i := 0; i < n; i++ {
					c.Rules = append(c.Rules, Rule{Priority: i + 1, Conditions: []Condition{
						{Field: FieldPathPattern, Values: []string{"/svc" + strconv.Itoa(i) + "/*"}},
						{Field: FieldHTTPHeader, HeaderName: "X-Canary", Values: []string{"on"}},
					}, Action: RuleAction{Type: ActionFixedResponse, StatusCode: 404}})
				}
			})
			if err := h.lb.Register("i-bench", "us-east-1a", mustAddrPort(rawBackend(b))); err != nil {
				b.Fatal(err)
			}
			h.waitState("i-bench", StateHealthy)
			if (h.lb.rules.Load() != nil) != (n > 0) {
				b.Fatal("rules not as configured")
			}
			nd := h.lb.Nodes()[0]
			req := httptest.NewRequest("GET", "http://lb/api/todos", nil)
			req.RemoteAddr = "127.0.0.1:5555"
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				nd.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// TestRulesHotPath: an http-header condition whose name is not in canonical
// form matches without allocating per request (the name is canonicalised
// once), and the client's address is wanted only with a source-ip rule.
func TestRulesHotPath(t *testing.T) {
	rs := mustRules(t, []Rule{{Priority: 1, Conditions: []Condition{
		{Field: FieldHTTPHeader, HeaderName: "x-canary", Values: []string{"on"}},
	}, Action: RuleAction{Type: ActionFixedResponse, StatusCode: 404}}}, nil)
	req := httptest.NewRequest("GET", "http://lb/", nil)
	req.Header.Set("X-Canary", "ON")
	if p, _ := rs.Evaluate(req, netip.Addr{}); p != 1 {
		t.Fatalf("the lower-case header name did not match: priority %d", p)
	}
	if n := testing.AllocsPerRun(100, func() { rs.Evaluate(req, netip.Addr{}) }); n != 0 {
		t.Errorf("Evaluate allocates %.0f times per request, want 0", n)
	}
	if rs.NeedsClient() {
		t.Error("NeedsClient without a source-ip rule")
	}
	withIP := mustRules(t, []Rule{{Priority: 1, Conditions: []Condition{
		{Field: FieldSourceIP, Values: []string{"10.0.0.0/8"}},
	}, Action: RuleAction{Type: ActionFixedResponse, StatusCode: 404}}}, nil)
	if !withIP.NeedsClient() {
		t.Error("NeedsClient false with a source-ip rule")
	}
}
