package alb

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Fidelity rows for listener rules and sticky sessions (TestFidelity's
// table names the pages).

// hitBackend is a backend that counts its requests.
func hitBackend(t *testing.T, name string) (addr string, hits *atomic.Int64) {
	hits = new(atomic.Int64)
	a := backend(t, name, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	return a.String(), hits
}

func fidelityRulePriority(t *testing.T) {
	fixed := func(code int) RuleAction {
		return RuleAction{Type: ActionFixedResponse, StatusCode: code, ContentType: "text/plain", Body: "rule"}
	}
	logPath := filepath.Join(t.TempDir(), "access.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, func(c *Config) {
		c.TargetGroupName, c.AccessLog = "web", f
		c.Rules = []Rule{ // given out of order: evaluation is by priority
			{Priority: 200, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/api/*"}}}, Action: fixed(503)},
			{Priority: 100, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/api/admin/*"}}}, Action: fixed(403)},
		}
	})
	a, hits := hitBackend(t, "a")
	h.register("i-a", "us-east-1a", mustAddrPort(a))
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	for _, c := range []struct {
		path string
		code int
	}{{"/api/admin/users", 403}, {"/api/todos", 503}, {"/", 200}} {
		if got := codeOf(t, n, c.path); got != c.code {
			t.Fatalf("%s: %d, want %d (both rules match /api/admin/: the lower priority value wins; none: the default forwards)", c.path, got, c.code)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("the target got %d requests, want only the default rule's one", hits.Load())
	}
	h.lb.Close()
	b, _ := os.ReadFile(logPath)
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := parseAccessLine(t, sc.Text())
		got = append(got, l["matched_rule_priority"]+" "+l["actions_executed"]+" "+l["elb_status_code"]+" "+l["target_status_code"])
	}
	want := []string{"100 fixed-response 403 -", "200 fixed-response 503 -", "0 forward 200 200"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("access log matched_rule_priority actions_executed elb_status target_status:\n%v\nwant\n%v", got, want)
	}
}

func fidelityFixedAndRedirect(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.TargetGroupName = "web"
		c.Rules = []Rule{
			{Priority: 1, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/maintenance"}}},
				Action: RuleAction{Type: ActionFixedResponse, StatusCode: 503, ContentType: "application/json", Body: `{"down":true}`}},
			{Priority: 2, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/old/*"}}},
				Action: RuleAction{Type: ActionRedirect, Redirect: Redirect{Protocol: "HTTPS", Host: "#{host}", Port: "443", Path: "/new/#{path}", Query: "#{query}", Code: 301}}},
			{Priority: 3, Conditions: []Condition{{Field: FieldHostHeader, Values: []string{"www.example.com"}}},
				Action: RuleAction{Type: ActionRedirect, Redirect: Redirect{Protocol: "#{protocol}", Host: "example.com", Port: "#{port}", Path: "/#{path}", Query: "#{query}", Code: 302}}},
			{Priority: 4, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/gone"}}},
				Action: RuleAction{Type: ActionFixedResponse, StatusCode: 404, ContentType: "text/plain", Body: "gone"}},
		}
	})
	n := h.lb.Nodes()[0]
	w := httptest.NewRecorder()
	n.ServeHTTP(w, httptest.NewRequest("GET", "http://lb/maintenance", nil))
	if w.Code != 503 || w.Body.String() != `{"down":true}` || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("fixed response: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	w = httptest.NewRecorder()
	n.ServeHTTP(w, httptest.NewRequest("GET", "http://shop.example.com/old/cart?id=3", nil))
	if w.Code != 301 || w.Header().Get("Location") != "https://shop.example.com:443/new/old/cart?id=3" {
		t.Fatalf("redirect: %d Location %q", w.Code, w.Header().Get("Location"))
	}
	w = httptest.NewRecorder()
	n.ServeHTTP(w, httptest.NewRequest("GET", "http://www.example.com/a?b=c", nil))
	if w.Code != 302 || w.Header().Get("Location") != "http://example.com:"+n.port+"/a?b=c" {
		t.Fatalf("redirect: %d Location %q", w.Code, w.Header().Get("Location"))
	}
	w = httptest.NewRecorder()
	n.ServeHTTP(w, httptest.NewRequest("GET", "http://lb/gone", nil))
	if w.Code != 404 {
		t.Fatalf("fixed response: %d", w.Code)
	}
	// the load balancer's own answers count in HTTPCode_ELB_3XX/4XX/5XX_Count
	m := n.Metrics()
	if m.HTTPCode_ELB_3XX_Count != 2 || m.HTTPCode_ELB_4XX_Count != 1 || m.HTTPCode_ELB_503_Count != 1 || m.HTTPCode_ELB_5XX_Count != 1 {
		t.Fatalf("HTTPCode_ELB_3XX_Count %d (want 2), 4XX %d (want 1), 503 %d (want 1), 5XX %d (want 1)",
			m.HTTPCode_ELB_3XX_Count, m.HTTPCode_ELB_4XX_Count, m.HTTPCode_ELB_503_Count, m.HTTPCode_ELB_5XX_Count)
	}
	if m.HTTP_Fixed_Response_Count != 2 || m.HTTP_Redirect_Count != 2 || m.RequestCount != 0 {
		t.Fatalf("HTTP_Fixed_Response_Count %d, HTTP_Redirect_Count %d, routed %d", m.HTTP_Fixed_Response_Count, m.HTTP_Redirect_Count, m.RequestCount)
	}
}

// stickyGet sends one request with cookie (if any) and returns who served
// it and the AWSALB (or AWSALBAPP) value set, if any.
func stickyGet(t *testing.T, n *Node, name, cookie string) (servedBy, set string, w *httptest.ResponseRecorder) {
	t.Helper()
	r := httptest.NewRequest("GET", "http://lb/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", "other=1; "+name+"="+cookie)
	}
	w = httptest.NewRecorder()
	n.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			set = c.Value
		}
	}
	return w.Header().Get("X-Served-By"), set, w
}

func stickyHarness(t *testing.T, st Stickiness, app http.HandlerFunc) *harness {
	h := newHarness(t, func(c *Config) { c.Stickiness = st })
	for _, id := range []string{"a", "b", "c"} {
		h.register("i-"+id, "us-east-1a", backend(t, id, app))
	}
	for _, id := range []string{"a", "b", "c"} {
		h.waitState("i-"+id, StateHealthy)
	}
	return h
}

func fidelityStickyExpiry(t *testing.T) {
	h := stickyHarness(t, Stickiness{Type: StickinessLBCookie, Duration: time.Hour}, nil)
	n := h.lb.Nodes()[0]
	first, cookie, w := stickyGet(t, n, CookieAWSALB, "")
	if cookie == "" {
		t.Fatal("no AWSALB cookie on the first answer")
	}
	var cors *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieAWSALBCORS {
			cors = c
		}
	}
	if cors == nil || cors.Value != cookie || cors.SameSite != http.SameSiteNoneMode || !cors.Secure {
		t.Fatalf("AWSALBCORS = %+v, want AWSALB's value with SameSite=None; Secure", cors)
	}
	if strings.Contains(cookie, "i-"+first) || strings.Contains(cookie, "127.0.0.1") {
		t.Fatalf("the cookie %q shows the target", cookie)
	}
	for i := 0; i < 9; i++ { // round robin alone would spread these over a, b and c
		if got, _, _ := stickyGet(t, n, CookieAWSALB, cookie); got != first {
			t.Fatalf("request %d with the cookie went to %s, want %s", i, got, first)
		}
	}
	if got, _, _ := stickyGet(t, h.lb.Nodes()[1], CookieAWSALB, cookie); got != first {
		t.Fatalf("another node sent the cookie to %s, want %s", got, first)
	}
	tampered := []byte(cookie)
	tampered[len(tampered)/2] ^= 1
	if _, set, _ := stickyGet(t, n, CookieAWSALB, string(tampered)); set == "" || set == cookie {
		t.Fatal("an undecodable cookie was not replaced")
	}
	// "the Application Load Balancer resets the expiry of the cookies it
	// generates after every request": a user who keeps coming back within
	// the duration stays, past the first binding's end.
	cur := cookie
	for i := 0; i < 4; i++ {
		h.clock.Advance(40 * time.Minute)
		got, set, _ := stickyGet(t, n, CookieAWSALB, cur)
		if got != first {
			t.Fatalf("after %d min of coming back every 40 min the user went to %s, want %s", 40*(i+1), got, first)
		}
		if set == "" || set == cur {
			t.Fatalf("answer %d did not re-set AWSALB with a new expiry", i)
		}
		cur = set
	}
	cookie = cur
	h.clock.Advance(time.Hour) // idle for the duration: the binding is stale
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		got, set, _ := stickyGet(t, n, CookieAWSALB, cookie)
		seen[got] = true
		if set == "" || set == cookie {
			t.Fatal("a stale cookie was not replaced")
		}
	}
	if len(seen) != 3 {
		t.Fatalf("after the duration the stale cookie still pinned requests: %v (want the algorithm's round robin over a, b, c)", seen)
	}
}

func fidelityStickyUnhealthy(t *testing.T) {
	h := stickyHarness(t, Stickiness{Type: StickinessLBCookie, Duration: 24 * time.Hour}, nil)
	n := h.lb.Nodes()[0]
	first, cookie, _ := stickyGet(t, n, CookieAWSALB, "")
	addr := map[string]string{}
	for _, tg := range h.lb.Targets() {
		addr[strings.TrimPrefix(string(tg.ID), "i-")] = tg.Addr.String()
	}
	h.prober.set(mustAddrPort(addr[first]), mismatch)
	h.check(3)
	h.check(3)
	h.waitState("i-"+first, StateUnhealthy)
	moved, set, _ := stickyGet(t, n, CookieAWSALB, cookie)
	if moved == first || moved == "" {
		t.Fatalf("the sticky user stayed on unhealthy %s", first)
	}
	if set == "" || set == cookie {
		t.Fatal("the cookie was not re-set for the new target")
	}
	for i := 0; i < 5; i++ {
		if got, _, _ := stickyGet(t, n, CookieAWSALB, set); got != moved {
			t.Fatalf("with the new cookie: %s, want %s", got, moved)
		}
	}
	if _, err := h.lb.Deregister(azID("i-" + moved)); err != nil { // deregistered: moved again
		t.Fatal(err)
	}
	h.waitState("i-"+moved, StateDraining)
	if got, _, _ := stickyGet(t, n, CookieAWSALB, set); got == moved || got == first {
		t.Fatalf("the sticky user went to %s after its target was deregistered", got)
	}
}

func fidelityAppCookie(t *testing.T) {
	app := func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("SESSION"); err != nil {
			http.SetCookie(w, &http.Cookie{Name: "SESSION", Value: "s1"})
		}
	}
	h := stickyHarness(t, Stickiness{Type: StickinessAppCookie, Duration: 5 * time.Minute, CookieName: "SESSION"}, app)
	n := h.lb.Nodes()[0]
	first, cookie, w := stickyGet(t, n, CookieAWSALBAPP, "")
	if cookie == "" {
		t.Fatal("no AWSALBAPP when the application set its cookie")
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieAWSALB || c.Name == CookieAWSALBCORS {
			t.Fatalf("app_cookie stickiness set %s", c.Name)
		}
	}
	// "In subsequent responses, the expiry of the AWSALBAPP cookie and the
	// duration configured on the load balancer are reset": a user coming
	// back every 3 min stays past the first 5 min, the application setting
	// no cookie anew.
	appGet := func(n *Node, cookie string) (string, string) {
		r := httptest.NewRequest("GET", "http://lb/", nil)
		r.Header.Set("Cookie", "SESSION=s1; AWSALBAPP="+cookie)
		w := httptest.NewRecorder()
		n.ServeHTTP(w, r)
		set := ""
		for _, c := range w.Result().Cookies() {
			if c.Name == CookieAWSALBAPP {
				set = c.Value
			}
		}
		return w.Header().Get("X-Served-By"), set
	}
	for i := 0; i < 6; i++ {
		h.clock.Advance(3 * time.Minute)
		got, set := appGet(n, cookie)
		if got != first {
			t.Fatalf("request %d went to %s, want %s", i, got, first)
		}
		if set == "" || set == cookie {
			t.Fatalf("request %d: AWSALBAPP not re-set with a new expiry", i)
		}
		cookie = set
	}
	// the target turns unhealthy: the session is "stuck" to the new target
	addr := map[string]string{}
	for _, tg := range h.lb.Targets() {
		addr[strings.TrimPrefix(string(tg.ID), "i-")] = tg.Addr.String()
	}
	h.prober.set(mustAddrPort(addr[first]), mismatch)
	h.check(3)
	h.check(3)
	h.waitState("i-"+first, StateUnhealthy)
	moved, set := appGet(n, cookie)
	if moved == first || moved == "" || set == "" {
		t.Fatalf("after %s turned unhealthy: served by %q, AWSALBAPP %q (want a new target and a cookie for it)", first, moved, set)
	}
	for i := 0; i < 4; i++ {
		if got, next := appGet(n, set); got != moved || next == "" {
			t.Fatalf("with the new AWSALBAPP: %s (cookie %q), want %s", got, next, moved)
		}
	}
	h.clock.Advance(5 * time.Minute) // idle for the duration: routed anew
	if got, set, _ := stickyGet(t, n, CookieAWSALBAPP, cookie); set == "" || got == "" {
		t.Fatal("after the duration the request was not routed anew")
	}
}
