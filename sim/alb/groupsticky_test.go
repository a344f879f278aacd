package alb

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// stickyGroups is twoGroups with target group stickiness of d on the
// weighted /split/* forward.
func stickyGroups(t *testing.T, d time.Duration, weights ...int) *harness {
	h := newHarness(t, func(c *Config) {
		c.TargetGroupName = "web"
		c.TargetGroups = []TargetGroupConfig{{Name: "api", HealthCheck: c.HealthCheck, Prober: c.Prober}}
		c.Rules = []Rule{{Priority: 2, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/split/*"}}},
			Action: RuleAction{Type: ActionForward, Stickiness: d, Weighted: []WeightedGroup{{Name: "web", Weight: weights[0]}, {Name: "api", Weight: weights[1]}}}}}
	})
	h.register("i-web", "us-east-1a", backend(t, "web", nil))
	if err := h.lb.RegisterIn("api", "i-api", "us-east-1b", backend(t, "api", nil)); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-web", StateHealthy)
	h.waitState("i-api", StateHealthy)
	return h
}

// getWith sends a GET with a Cookie header; the answer's group and its
// AWSALBTG and AWSALBTGCORS Set-Cookie lines.
func getWith(t *testing.T, url, cookie string) (group, tg, cors string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Header["Set-Cookie"] {
		switch {
		case strings.HasPrefix(c, CookieAWSALBTGCORS+"="):
			cors = c
		case strings.HasPrefix(c, CookieAWSALBTG+"="):
			tg = c
		}
	}
	return resp.Header.Get("X-Served-By"), tg, cors
}

// cookieOf is the name=value part of a Set-Cookie line.
func cookieOf(setCookie string) string { v, _, _ := strings.Cut(setCookie, ";"); return v }

// fidelityGroupStickiness (a row of TestFidelity): a sticky weighted
// forward: the first answer sets AWSALBTG (and
// AWSALBTGCORS, SameSite=None; Secure) naming the group the weights chose;
// requests carrying either stay on that group on every node, even once
// its weight is 0, until the duration ends (later requests do not extend
// it); then the weights choose again. A cookie that does not open is
// routed by weight.
func fidelityGroupStickiness(t *testing.T) {
	h := stickyGroups(t, time.Minute, 50, 50)
	nodes := h.lb.Nodes()
	first, tg, cors := getWith(t, nodes[0].URL()+"/split/x", "")
	if tg == "" || cors == "" {
		t.Fatalf("the first answer sets AWSALBTG %q and AWSALBTGCORS %q; want both", tg, cors)
	}
	if !strings.Contains(cors, "SameSite=None") || !strings.Contains(cors, "Secure") || cookieOf(cors)[len(CookieAWSALBTGCORS)+1:] != cookieOf(tg)[len(CookieAWSALBTG)+1:] {
		t.Errorf("AWSALBTGCORS %q: want AWSALBTG's value with SameSite=None; Secure (AWSALBTG %q)", cors, tg)
	}
	other := map[string]string{"web": "api", "api": "web"}[first]
	for i := range 40 {
		if g, _, _ := getWith(t, nodes[i%2].URL()+"/split/x", cookieOf(tg)); g != first {
			t.Fatalf("request %d with AWSALBTG went to %s, want %s", i, g, first)
		}
	}
	corsOnly := CookieAWSALBTGCORS + "=" + cookieOf(cors)[len(CookieAWSALBTGCORS)+1:]
	if g, _, _ := getWith(t, nodes[1].URL()+"/split/x", corsOnly); g != first {
		t.Errorf("with AWSALBTGCORS only: %s, want %s", g, first)
	}
	// the group's weight goes to 0: the sticky client stays
	ws := []WeightedGroup{{Name: first, Weight: 0}, {Name: other, Weight: 100}}
	if err := h.lb.SetForwardWeights(2, ws); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := getWith(t, nodes[0].URL()+"/split/x", ""); g != other {
		t.Fatalf("a new client at weight 0 for %s went to %s", first, g)
	}
	h.clock.Advance(50 * time.Second)
	if g, _, _ := getWith(t, nodes[0].URL()+"/split/x", cookieOf(tg)); g != first {
		t.Fatalf("50 s in, weight 0: the sticky client went to %s, want %s until the minute ends", g, first)
	}
	h.clock.Advance(11 * time.Second) // 61 s after the binding: released, though a request came at 50 s
	g, tg2, _ := getWith(t, nodes[1].URL()+"/split/x", cookieOf(tg))
	if g != other || tg2 == "" {
		t.Fatalf("after the duration: %s (cookie %q), want %s by weight and a new AWSALBTG", g, tg2, other)
	}
	if g, _, _ := getWith(t, nodes[0].URL()+"/split/x", cookieOf(tg2)); g != other {
		t.Errorf("the new binding sends to %s, want %s", g, other)
	}
	if g, _, _ := getWith(t, nodes[0].URL()+"/split/x", CookieAWSALBTG+"=forged"); g != other {
		t.Errorf("a forged AWSALBTG went to %s, want %s by weight", g, other)
	}
}

// A client bound to a group whose targets are gone is routed by weight,
// not held on 503s; and the load balancer's own 503 binds no one.
func TestGroupStickinessLeavesAnEmptyGroup(t *testing.T) {
	h := stickyGroups(t, time.Hour, 100, 0)
	node := h.lb.Nodes()[0]
	g, tg, _ := getWith(t, node.URL()+"/split/x", "")
	if g != "web" || tg == "" {
		t.Fatalf("first answer from %s with AWSALBTG %q; want web and a binding", g, tg)
	}
	if err := h.lb.SetForwardWeights(2, []WeightedGroup{{Name: "web", Weight: 0}, {Name: "api", Weight: 100}}); err != nil {
		t.Fatal(err)
	}
	done, err := h.lb.Deregister("i-web")
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if g, _, _ := getWith(t, node.URL()+"/split/x", cookieOf(tg)); g != "api" {
		t.Errorf("bound to web, whose target is gone: served by %q, want api by weight", g)
	}
	if err := h.lb.SetForwardWeights(2, []WeightedGroup{{Name: "web", Weight: 100}, {Name: "api", Weight: 0}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, node.URL()+"/split/x", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || len(resp.Header["Set-Cookie"]) != 0 {
		t.Errorf("to an empty group: %d with Set-Cookie %q; want the load balancer's 503 and no cookie", resp.StatusCode, resp.Header["Set-Cookie"])
	}
}

// Without group stickiness no AWSALBTG is set, and fresh clients of a
// sticky forward still split by weight.
func TestGroupStickinessKeepsTheWeights(t *testing.T) {
	h := stickyGroups(t, time.Hour, 80, 20)
	web := 0
	const total = 1000
	for i := range total {
		if g, _, _ := getWith(t, h.lb.Nodes()[i%2].URL()+"/split/x", ""); g == "web" {
			web++
		}
	}
	if web < total*77/100 || web > total*83/100 {
		t.Errorf("80/20 with group stickiness: web got %d of %d fresh clients, want 800 within 3%%", web, total)
	}
	plain := twoGroups(t, 1, 1)
	plain.register("i-web", "us-east-1a", backend(t, "web", nil))
	plain.waitState("i-web", StateHealthy)
	if _, tg, cors := getWith(t, plain.lb.Nodes()[0].URL()+"/split/x", ""); tg != "" || cors != "" {
		t.Errorf("a forward without stickiness set %q %q", tg, cors)
	}
}

func TestGroupStickinessDurationChecked(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, 8 * 24 * time.Hour} {
		a := RuleAction{Type: ActionForward, Stickiness: d, Weighted: []WeightedGroup{{Name: "web", Weight: 1}}}
		if _, err := NewRules(nil, a, []string{"web"}); err == nil {
			t.Errorf("stickiness %s taken", d)
		}
	}
	if _, err := NewRules(nil, RuleAction{Type: ActionFixedResponse, StatusCode: 404, Stickiness: time.Hour}, []string{"web"}); err == nil {
		t.Error("stickiness on a fixed response taken")
	}
}

// fidelityWeights: a weighted forward sends each group its share, 90/10
// and 50/50 within 3% over 2,000 requests; weight 0 sends nothing (was
// TestWeightedForwardHonoursWeights, now a row of TestFidelity).
func fidelityWeights(t *testing.T) {
	for _, w := range [][2]int{{90, 10}, {0, 100}, {50, 50}} {
		h := twoGroups(t, w[0], w[1])
		h.register("i-web", "us-east-1a", backend(t, "web", nil))
		if err := h.lb.RegisterIn("api", az.InstanceID("i-api"), "us-east-1b", backend(t, "api", nil)); err != nil {
			t.Fatal(err)
		}
		h.waitState("i-web", StateHealthy)
		h.waitState("i-api", StateHealthy)
		const total = 2000
		web := 0
		for i := range total {
			resp, _ := get(t, h.lb.Nodes()[i%2].URL()+"/split/x")
			if resp.Header.Get("X-Served-By") == "web" {
				web++
			}
		}
		want := float64(total) * float64(w[0]) / float64(w[0]+w[1])
		if math.Abs(float64(web)-want) > 0.03*total {
			t.Errorf("weights %v: web got %d of %d, want about %.0f", w, web, total, want)
		}
	}
}
