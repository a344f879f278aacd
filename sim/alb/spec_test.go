package alb

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// fullConfig sets every data field of a Config to something other than
// its zero value.
func fullConfig() Config {
	matches := func(code int) bool { return code == 200 || code >= 300 && code <= 399 }
	return Config{
		Zones: []az.Zone{{Name: "us-east-1a", Index: 1, Subnet: netip.MustParsePrefix("169.254.1.0/24"),
			Node: netip.MustParseAddr("169.254.1.1")}},
		Port: 8080, IdleTimeout: 60 * time.Second, DeregistrationDelay: 300 * time.Second, CrossZone: true,
		ConnectTimeout: 10 * time.Second,
		HealthCheck: HealthCheck{Path: "/health", Interval: 30 * time.Second, Timeout: 5 * time.Second,
			Thresholds: Thresholds{Healthy: 5, Unhealthy: 2}, Matches: matches},
		Algorithm: AlgorithmRoundRobin, SlowStart: 30 * time.Second,
		TargetGroupHealth: &TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 1, Percentage: 50},
			DNSFailover: MinimumHealthy{Count: 2}},
		AnomalyMitigation: true, Seed: 42, Name: "shop", ClientKeepAlive: time.Hour,
		AccessLog: &bytes.Buffer{}, DesyncMitigationMode: DesyncStrictest, DropInvalidHeaderFields: true,
		MaxClientConns: 500,
		Rules: []Rule{{Priority: 10, Conditions: []Condition{
			{Field: FieldPathPattern, Values: []string{"/api/*"}},
			{Field: "http-header", HeaderName: "X-Canary", Values: []string{"yes"}},
			{Field: "query-string", Query: []QueryPair{{Key: "v", Value: "2"}}},
		}, Action: RuleAction{Type: "forward", Weighted: []WeightedGroup{{Name: "shop", Weight: 90}, {Name: "canary", Weight: 10}},
			Stickiness: time.Minute}}},
		DefaultAction: &RuleAction{Type: "redirect", Redirect: Redirect{Protocol: "https", Host: "#{host}", Port: "443",
			Path: "/#{path}", Query: "#{query}", Code: 301}},
		TargetGroupName: "shop",
		TargetGroups: []TargetGroupConfig{{Name: "canary", HealthCheck: HealthCheck{Path: "/ok", Interval: 10 * time.Second,
			Timeout: 2 * time.Second, Thresholds: Thresholds{Healthy: 2, Unhealthy: 3},
			Matches: func(code int) bool { return code >= 200 && code <= 299 }}}},
		Stickiness:     Stickiness{Type: StickinessAppCookie, Duration: time.Hour, CookieName: "SESSION"},
		GoroutineFront: true,
	}
}

// TestSpecRoundTrip: a Config's data part goes through JSON and comes back
// the same, matchers included, and no field of Spec is left at zero by
// fullConfig (so a field added to Config and Spec but not copied fails).
func TestSpecRoundTrip(t *testing.T) {
	cfg := fullConfig()
	spec := SpecOf(cfg)
	for i, f := range reflect.VisibleFields(reflect.TypeOf(spec)) {
		if reflect.ValueOf(spec).Field(i).IsZero() {
			t.Errorf("Spec.%s is zero: SpecOf does not copy it", f.Name)
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var back Spec
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, spec) {
		t.Fatalf("round trip changed the spec:\n got %+v\nwant %+v", back, spec)
	}
	if want := [][2]int{{200, 200}, {300, 399}}; !reflect.DeepEqual(back.HealthCheck.Matcher, want) {
		t.Errorf("matcher %v, want %v", back.HealthCheck.Matcher, want)
	}

	got := back.Config()
	for code := minCode; code <= maxCode; code++ {
		if got.HealthCheck.Matches(code) != cfg.HealthCheck.Matches(code) {
			t.Errorf("health check matcher differs at %d", code)
		}
		if got.TargetGroups[0].HealthCheck.Matches(code) != cfg.TargetGroups[0].HealthCheck.Matches(code) {
			t.Errorf("target group canary's matcher differs at %d", code)
		}
	}
	// Every data field of Config comes back; the non-data ones are the
	// caller's (AccessLog is a writer the node makes when the spec says so).
	if got.AccessLog != nil || !back.AccessLog {
		t.Errorf("access log: config %v, spec %v; want nil writer and true", got.AccessLog, back.AccessLog)
	}
	strip := func(c Config) Config {
		c.AccessLog, c.HealthCheck.Matches = nil, nil
		for i := range c.TargetGroups {
			c.TargetGroups[i].HealthCheck.Matches = nil
		}
		return c
	}
	if !reflect.DeepEqual(strip(got), strip(cfg)) {
		t.Errorf("Config from the spec differs:\n got %+v\nwant %+v", strip(got), strip(cfg))
	}
}

// TestSpecNilMatcher: a health check without a matcher stays without one.
func TestSpecNilMatcher(t *testing.T) {
	s := SpecOf(Config{HealthCheck: HealthCheck{Path: "/"}})
	raw, _ := json.Marshal(s)
	var back Spec
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Config().HealthCheck.Matches != nil {
		t.Error("a nil matcher came back as a func")
	}
}
