package alb

import (
	"sync"
	"testing"
	"time"
)

func TestRequestCountPerTarget(t *testing.T) {
	cases := []struct {
		requests            int64
		healthy, registered int
		want                float64
		ok                  bool
	}{
		{120, 4, 4, 30, true},
		{120, 3, 4, 40, true}, // over the healthy targets
		{120, 0, 4, 30, true}, // none healthy: over the registered ones
		{0, 4, 4, 0, false},   // no traffic, no datapoint
		{10, 0, 0, 0, false},  // no targets
	}
	for _, c := range cases {
		got, ok := requestCountPerTarget(c.requests, c.healthy, c.registered)
		if got != c.want || ok != c.ok {
			t.Errorf("requestCountPerTarget(%d, %d, %d) = %v %v, want %v %v", c.requests, c.healthy, c.registered, got, ok, c.want, c.ok)
		}
	}
}

// fakeSink keeps the last value of each metric by namespace, name and zone
// ("" for the LoadBalancer dimension alone).
type fakeSink struct {
	mu  sync.Mutex
	got map[[3]string]float64
}

func (s *fakeSink) PutMetric(ns, name string, dims map[string]string, _ time.Time, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		s.got = map[[3]string]float64{}
	}
	s.got[[3]string{ns, name, dims[DimAvailabilityZone]}] = v
}

func (s *fakeSink) take() map[[3]string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.got
	s.got = nil
	return g
}

// TestMetricPublisher: request counters are published as deltas, per zone
// and for the load balancer, and not at all in a quiet period; host counts,
// target group health and ATW counts every time; a stopped node publishes
// none of its own.
func TestMetricPublisher(t *testing.T) {
	h := newHarness(t, nil)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	sink := &fakeSink{}
	p := NewMetricPublisher(h.lb, "tt", sink)
	url := h.lb.Nodes()[0].URL()
	for range 4 {
		get(t, url+"/")
	}
	p.Publish(h.clock.Now())
	got := sink.take()
	rows := []struct {
		name, zone string
		want       float64
		ok         bool
	}{
		{MetricRequestCount, "us-east-1a", 4, true},
		{MetricRequestCount, "", 4, true},
		{MetricHTTPCodeTarget2XXCount, "", 4, true},
		{MetricRequestCount, "us-east-1b", 0, false}, // no requests: no datapoint
		{MetricRequestCountPerTarget, "", 4, true},
		{MetricHealthyHostCount, "us-east-1b", 1, true},
		{MetricHealthyStateRouting, "", 2, true},
		{MetricAnomalousHostCount, "us-east-1a", 0, true},
	}
	for _, r := range rows {
		v, ok := got[[3]string{Namespace, r.name, r.zone}]
		if v != r.want || ok != r.ok {
			t.Errorf("first sample: %s (zone %q) = %v (reported %v), want %v (reported %v)", r.name, r.zone, v, ok, r.want, r.ok)
		}
	}
	if err := h.lb.StopNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	p.Publish(h.clock.Now())
	got = sink.take()
	for _, r := range []struct {
		name, zone string
		want       float64
		ok         bool
	}{
		{MetricRequestCount, "", 0, false}, // a quiet period
		{MetricRequestCountPerTarget, "", 0, false},
		{MetricHealthyHostCount, "us-east-1a", 1, true},
		{MetricHealthyHostCount, "us-east-1b", 0, false}, // a stopped node reports nothing
		{MetricHealthyStateRouting, "us-east-1b", 0, false},
		{MetricHealthyStateRouting, "", 1, true},
	} {
		v, ok := got[[3]string{Namespace, r.name, r.zone}]
		if v != r.want || ok != r.ok {
			t.Errorf("second sample: %s (zone %q) = %v (reported %v), want %v (reported %v)", r.name, r.zone, v, ok, r.want, r.ok)
		}
	}
}
