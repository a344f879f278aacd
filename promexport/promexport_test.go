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

// A real load balancer (two zones, real HTTP health checks at 100x) behind
// a real endpoint, scraped over loopback.
func TestScrapeShowsCloudWatchNamesAndDimensions(t *testing.T) {
	zones, err := az.NewZones([]string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	clk, _ := clock.NewScaled(100)
	bus := events.NewBus(clk)
	defer bus.Close()
	lb, err := alb.New(alb.Config{
		Zones: zones, Port: 0, IdleTimeout: 60 * time.Second, DeregistrationDelay: 300 * time.Second, CrossZone: true,
		HealthCheck: alb.HealthCheck{Path: "/", Interval: 5 * time.Second, Timeout: 2 * time.Second,
			Thresholds: alb.Thresholds{Healthy: 2, Unhealthy: 2}, Matches: func(c int) bool { return c == 200 }},
		Clock: clk, Events: bus, Name: "shop", Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(418)
		}
	}))
	defer backend.Close()
	if err := lb.Register("i-a", "us-east-1a", netip.MustParseAddrPort(backend.Listener.Addr().String())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !healthyEverywhere(lb, "i-a") {
		if time.Now().After(deadline) {
			t.Fatalf("target not healthy: %v", lb.Health("i-a"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	url := lb.Nodes()[0].URL()
	for _, p := range []string{"/", "/", "/teapot"} {
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
	if m := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/metrics$`); !m.MatchString(srv.URL()) {
		t.Fatalf("endpoint %s is not on loopback", srv.URL())
	}
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)

	dims := `LoadBalancer="` + lb.Dimension() + `",TargetGroup="` + lb.TargetGroupDimension() + `"`
	tests := []struct {
		series string
		want   float64
	}{
		{`RequestCount{AvailabilityZone="us-east-1a",` + dims + `}`, 3},
		{`RequestCount{AvailabilityZone="us-east-1b",` + dims + `}`, 0},
		{`HTTPCode_Target_2XX_Count{AvailabilityZone="us-east-1a",` + dims + `}`, 2},
		{`HTTPCode_Target_4XX_Count{AvailabilityZone="us-east-1a",` + dims + `}`, 1},
		{`HTTPCode_ELB_5XX_Count{AvailabilityZone="us-east-1a",` + dims + `}`, 0},
		{`TargetResponseTime_count{AvailabilityZone="us-east-1a",` + dims + `}`, 3},
		{`NewConnectionCount{AvailabilityZone="us-east-1a",` + dims + `}`, 1},
		{`HealthyHostCount{AvailabilityZone="us-east-1a",` + dims + `,node="us-east-1a"}`, 1},
		{`HealthyHostCount{AvailabilityZone="us-east-1a",` + dims + `,node="us-east-1b"}`, 1},
		{`UnHealthyHostCount{AvailabilityZone="us-east-1a",` + dims + `,node="us-east-1a"}`, 0},
	}
	for _, tt := range tests {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tt.series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no series %s in:\n%s", tt.series, text)
			continue
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v != tt.want {
			t.Errorf("%s = %s, want %v", tt.series, m[1], tt.want)
		}
	}
	if m := regexp.MustCompile(`(?m)^ActiveConnectionCount\{AvailabilityZone="us-east-1a",[^}]*\} (\S+)$`).FindStringSubmatch(text); m == nil || m[1] == "0" {
		t.Errorf("ActiveConnectionCount: %v (the client's keep-alive connection and the target connection are open)", m)
	}
	if m := regexp.MustCompile(`(?m)^TargetResponseTime_sum\{AvailabilityZone="us-east-1a",[^}]*\} (\S+)$`).FindStringSubmatch(text); m == nil {
		t.Error("no TargetResponseTime_sum")
	} else if v, _ := strconv.ParseFloat(m[1], 64); v <= 0 {
		t.Errorf("TargetResponseTime_sum %v", v)
	}
}

func healthyEverywhere(lb *alb.LoadBalancer, id az.InstanceID) bool {
	hs := lb.Health(id)
	for _, h := range hs {
		if h.State != alb.StateHealthy {
			return false
		}
	}
	return len(hs) == len(lb.Nodes())
}
