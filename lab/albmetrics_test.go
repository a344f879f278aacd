package lab

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// TestALBNodeMetrics: the sampler publishes, per AvailabilityZone, each
// live node's HealthyStateRouting, UnhealthyStateRouting, HealthyStateDNS,
// UnhealthyStateDNS (1 or 0 zone; the zone counts under the LoadBalancer
// alone), AnomalousHostCount and MitigatedHostCount, and the lab's count of
// targets the nodes' gossiped views disagree on. A stopped node publishes
// none of them, nor HealthyHostCount: it checks nothing.
func TestALBNodeMetrics(t *testing.T) {
	s := testStack(t, 18487)
	c, _ := clock.NewScaled(50)
	bus := events.NewBus(c)
	defer bus.Close()
	zones, _ := az.NewZones(s.Zones)
	lb, err := alb.New(albConfig(s, zones, c, bus))
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	l := &Lab{opts: Options{Stack: s, Seed: 7, Logger: slog.New(slog.DiscardHandler)}, Clock: c, Bus: bus, Zones: zones, LB: lb}
	if err := l.startEntry(); err != nil {
		t.Fatal(err)
	}
	defer l.closeEntry()

	var failing atomic.Bool
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer backend.Close()
	if err := lb.Register("i-t", "us-east-1a", netip.MustParseAddrPort(backend.Listener.Addr().String())); err != nil {
		t.Fatal(err)
	}
	everyNode := func(want alb.State, zones ...string) func() bool {
		return func() bool {
			h := lb.Health("i-t")
			for _, z := range zones {
				if h[z].State != want {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "every node sees the target healthy", 10*time.Second, everyNode(alb.StateHealthy, "us-east-1a", "us-east-1b", "us-east-1c"))
	// The disagreement count reads the views the nodes gossip, which reach
	// the others a gossip round after each node's own check.
	waitFor(t, "the gossiped views agree", 10*time.Second, func() bool { return len(l.ViewDisagreements()) == 0 })

	sampler := l.newMetricsSampler()
	sample := func() func(ns, metric, zone string) (float64, bool) {
		l.Metrics = cloudwatch.NewStore()
		sampler.sink.store = l.Metrics
		from := c.Now()
		sampler.sample()
		return func(ns, metric, zone string) (float64, bool) {
			dims := cloudwatch.Dims(cloudwatch.DimLoadBalancer, s.Name)
			if zone != "" {
				dims = cloudwatch.Dims(cloudwatch.DimLoadBalancer, s.Name, cloudwatch.DimAvailabilityZone, zone)
			}
			st, ok := l.Metrics.Datapoint(cloudwatch.Query{Namespace: ns, MetricName: metric, Dimensions: dims, Period: time.Hour, Statistic: "Minimum"}, from)
			return st.Minimum, ok
		}
	}
	type row struct {
		ns, metric, zone string
		want             float64
		ok               bool
	}
	check := func(when string, get func(ns, metric, zone string) (float64, bool), rows []row) {
		t.Helper()
		for _, r := range rows {
			if v, ok := get(r.ns, r.metric, r.zone); ok != r.ok || v != r.want {
				t.Errorf("%s: %s %s (zone %q) = %v (reported %v), want %v (reported %v)", when, r.ns, r.metric, r.zone, v, ok, r.want, r.ok)
			}
		}
	}
	elb := cloudwatch.NamespaceALB
	check("all healthy", sample(), []row{
		{elb, alb.MetricHealthyStateRouting, "us-east-1a", 1, true},
		{elb, alb.MetricUnhealthyStateRouting, "us-east-1a", 0, true},
		{elb, alb.MetricHealthyStateDNS, "us-east-1a", 1, true},
		{elb, alb.MetricUnhealthyStateDNS, "us-east-1a", 0, true},
		{elb, alb.MetricAnomalousHostCount, "us-east-1b", 0, true}, // always reported
		{elb, alb.MetricMitigatedHostCount, "us-east-1c", 0, true},
		{elb, alb.MetricHealthyStateRouting, "", 3, true}, // cross-zone on: every zone sees the target
		{NamespaceLab, MetricNodeViewDisagreements, "", 0, true},
	})

	// us-east-1b's node stops, its cluster member left running with its
	// last view (a node cut off from the targets); the target then fails.
	if err := lb.StopNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	waitFor(t, "the live nodes see the target unhealthy", 10*time.Second, everyNode(alb.StateUnhealthy, "us-east-1a", "us-east-1c"))
	waitFor(t, "the gossiped views disagree", 10*time.Second, func() bool { return len(l.ViewDisagreements()) == 1 })
	check("us-east-1b stopped, the target failing", sample(), []row{
		{elb, alb.MetricHealthyStateRouting, "us-east-1a", 0, true},
		{elb, alb.MetricUnhealthyStateRouting, "us-east-1a", 1, true}, // no healthy target: failing open
		{elb, alb.MetricUnhealthyStateDNS, "us-east-1c", 1, true},
		{elb, alb.MetricHealthyStateRouting, "us-east-1b", 0, false}, // a stopped node reports nothing
		{elb, alb.MetricAnomalousHostCount, "us-east-1b", 0, false},
		{elb, cloudwatch.MetricHealthyHostCount, "us-east-1b", 0, false},
		{elb, cloudwatch.MetricHealthyHostCount, "us-east-1a", 0, true},
		{elb, alb.MetricUnhealthyStateRouting, "", 2, true},
		{elb, alb.MetricHealthyStateDNS, "", 0, true},
		{NamespaceLab, MetricNodeViewDisagreements, "", 1, true},
	})
}
