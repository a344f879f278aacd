package promexport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

// A load balancer with two target groups (web, its own, and api by a path
// rule): each group's requests, codes and health are series of their own,
// target_group="NAME"; the node-wide series name no target group.
func TestScrapeLabelsEachTargetGroup(t *testing.T) {
	zones, err := az.NewZones([]string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	clk, _ := clock.NewScaled(100)
	bus := events.NewBus(clk)
	defer bus.Close()
	hc := alb.HealthCheck{Path: "/", Interval: 5 * time.Second, Timeout: 2 * time.Second,
		Thresholds: alb.Thresholds{Healthy: 2, Unhealthy: 2}, Matches: func(c int) bool { return c == 200 }}
	lb, err := alb.New(alb.Config{
		Zones: zones, Port: 0, IdleTimeout: 60 * time.Second, DeregistrationDelay: 300 * time.Second, CrossZone: true,
		HealthCheck: hc, Clock: clk, Events: bus, Name: "shop", Seed: 7,
		TargetGroupName: "web",
		TargetGroups:    []alb.TargetGroupConfig{{Name: "api", HealthCheck: hc}},
		Rules: []alb.Rule{{Priority: 1, Conditions: []alb.Condition{{Field: alb.FieldPathPattern, Values: []string{"/api/*"}}},
			Action: alb.RuleAction{Type: alb.ActionForward, TargetGroup: "api"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	backend := func(code int) netip.AddrPort {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				w.WriteHeader(code)
			}
		}))
		t.Cleanup(s.Close)
		return netip.MustParseAddrPort(s.Listener.Addr().String())
	}
	if err := lb.RegisterIn("web", "i-web", "us-east-1a", backend(200)); err != nil {
		t.Fatal(err)
	}
	if err := lb.RegisterIn("api", "i-api", "us-east-1b", backend(500)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !healthyEverywhere(lb, "i-web") || !healthyEverywhere(lb, "i-api") {
		if time.Now().After(deadline) {
			t.Fatalf("targets not healthy: %v %v", lb.Health("i-web"), lb.Health("i-api"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	url := lb.Nodes()[0].URL()
	for _, p := range []string{"/a", "/b", "/api/x", "/api/y", "/api/z"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	srv, err := Listen(lb)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	lbl := `LoadBalancer="` + lb.Dimension() + `"`
	for _, tt := range []struct {
		series string
		want   float64
	}{
		{`TargetGroup_RequestCount{AvailabilityZone="us-east-1a",` + lbl + `,target_group="web"}`, 2},
		{`TargetGroup_RequestCount{AvailabilityZone="us-east-1a",` + lbl + `,target_group="api"}`, 3},
		{`TargetGroup_RequestCount{AvailabilityZone="us-east-1b",` + lbl + `,target_group="api"}`, 0},
		{`TargetGroup_HTTPCode_Target_2XX_Count{AvailabilityZone="us-east-1a",` + lbl + `,target_group="web"}`, 2},
		{`TargetGroup_HTTPCode_Target_5XX_Count{AvailabilityZone="us-east-1a",` + lbl + `,target_group="api"}`, 3},
		{`TargetGroup_HTTPCode_Target_5XX_Count{AvailabilityZone="us-east-1a",` + lbl + `,target_group="web"}`, 0},
		{`TargetGroup_HealthyHostCount{` + lbl + `,target_group="web"}`, 1},
		{`TargetGroup_HealthyHostCount{` + lbl + `,target_group="api"}`, 1},
		{`TargetGroup_UnHealthyHostCount{` + lbl + `,target_group="api"}`, 0},
		// the node's own count is both groups', with no target group named
		{`RequestCount{AvailabilityZone="us-east-1a",` + lbl + `,TargetGroup=""}`, 5},
	} {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tt.series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no series %s in:\n%s", tt.series, text)
			continue
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v != tt.want {
			t.Errorf("%s = %s, want %v", tt.series, m[1], tt.want)
		}
	}
	if regexp.MustCompile(`TargetGroup="` + regexp.QuoteMeta(lb.TargetGroupDimension()) + `"`).MatchString(text) {
		t.Error("a series still names the load balancer's first target group for every group's traffic")
	}
}
