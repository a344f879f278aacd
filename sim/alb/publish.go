package alb

import "time"

// MetricSink takes the load balancer's metrics, as CloudWatch's
// PutMetricData would: one datapoint of metric in namespace, identified by
// its dimensions (name to value). The load balancer does not import
// CloudWatch; lab wires the metric store in.
type MetricSink interface {
	PutMetric(namespace, metric string, dims map[string]string, t time.Time, v float64)
}

// CloudWatch's namespace and dimension names for the load balancer.
const (
	Namespace           = "AWS/ApplicationELB"
	DimLoadBalancer     = "LoadBalancer"
	DimAvailabilityZone = "AvailabilityZone"
	DimTargetGroup      = "TargetGroup" // with LoadBalancer: one target group's (groups.go)
)

// The metrics the publisher puts, CloudWatch's names
// (load-balancer-cloudwatch-metrics.html). The ELB reports most counters
// only when they are non-zero, so a quiet period is a missing datapoint,
// not a zero.
const (
	MetricRequestCount                 = "RequestCount"
	MetricRequestCountPerTarget        = "RequestCountPerTarget"
	MetricTargetResponseTime           = "TargetResponseTime"
	MetricHTTPCodeELB5XXCount          = "HTTPCode_ELB_5XX_Count"
	MetricHTTPCodeELB502Count          = "HTTPCode_ELB_502_Count"
	MetricHTTPCodeELB503Count          = "HTTPCode_ELB_503_Count"
	MetricHTTPCodeELB504Count          = "HTTPCode_ELB_504_Count"
	MetricHTTPCodeTarget2XXCount       = "HTTPCode_Target_2XX_Count"
	MetricHTTPCodeTarget4XXCount       = "HTTPCode_Target_4XX_Count"
	MetricHTTPCodeTarget5XXCount       = "HTTPCode_Target_5XX_Count"
	MetricHealthyHostCount             = "HealthyHostCount"
	MetricUnHealthyHostCount           = "UnHealthyHostCount"
	MetricUnhealthyRoutingRequestCount = "UnhealthyRoutingRequestCount"
	MetricHTTPCodeELB4XXCount          = "HTTPCode_ELB_4XX_Count"
	MetricHTTPCodeELB3XXCount          = "HTTPCode_ELB_3XX_Count"
	MetricDesyncNonCompliantCount      = "DesyncMitigationMode_NonCompliant_Request_Count"
	MetricRejectedConnectionCount      = "RejectedConnectionCount"
	MetricHTTPFixedResponseCount       = "HTTP_Fixed_Response_Count"
	MetricHTTPRedirectCount            = "HTTP_Redirect_Count"
)

// Target group health and Automatic Target Weights metrics, AWS's names
// (aws-behaviour.md 1.3, 1.4, 1.12; load-balancer-cloudwatch-metrics.html).
const (
	MetricHealthyStateRouting   = "HealthyStateRouting"   // zones meeting the unhealthy_state_routing threshold
	MetricUnhealthyStateRouting = "UnhealthyStateRouting" // zones below it: failing open
	MetricHealthyStateDNS       = "HealthyStateDNS"       // zones meeting the dns_failover threshold
	MetricUnhealthyStateDNS     = "UnhealthyStateDNS"     // zones below it: unhealthy in DNS
	MetricAnomalousHostCount    = "AnomalousHostCount"    // targets anomaly detection calls anomalous
	MetricMitigatedHostCount    = "MitigatedHostCount"    // targets whose traffic mitigation cuts
)

// MetricPublisher publishes the nodes' counters as AWS/ApplicationELB metrics,
// as deltas since its last Publish; a quiet period publishes no request
// metrics at all (no datapoint, not zero), as the ELB does. Its owner calls
// Publish from one goroutine, on its own ticker.
type MetricPublisher struct {
	lb   *LoadBalancer
	name string // the LoadBalancer dimension's value
	sink MetricSink
	last map[string]Snapshot
	tgs  map[string]TargetGroupCounts // per target group, with several (publishGroups)
}

// NewMetricPublisher publishes lb's metrics into sink under the LoadBalancer
// dimension name.
func NewMetricPublisher(lb *LoadBalancer, name string, sink MetricSink) *MetricPublisher {
	return &MetricPublisher{lb: lb, name: name, sink: sink, last: map[string]Snapshot{}}
}

// Dimensions is the LoadBalancer dimension alone: the whole load balancer.
func (p *MetricPublisher) Dimensions() map[string]string {
	return map[string]string{DimLoadBalancer: p.name}
}

func (p *MetricPublisher) zoneDimensions(zone string) map[string]string {
	return map[string]string{DimLoadBalancer: p.name, DimAvailabilityZone: zone}
}

// Publish puts one sample at now: each node's request counters and
// response time, per zone and (counters) for the whole load balancer;
// HealthyHostCount and UnHealthyHostCount of each live node;
// RequestCountPerTarget; and the target group health and ATW metrics.
func (p *MetricPublisher) Publish(now time.Time) {
	put := func(name string, dims map[string]string, v float64) {
		p.sink.PutMetric(Namespace, name, dims, now, v)
	}
	all := p.Dimensions()
	var requests int64
	healthy := 0
	for _, n := range p.lb.Nodes() {
		s := n.Metrics()
		prev := p.last[s.Zone]
		p.last[s.Zone] = s
		requests += s.RequestCount - prev.RequestCount
		zone := p.zoneDimensions(s.Zone)
		if p.lb.NodeUp(s.Zone) { // a stopped node checks nothing: its counts would be stale
			healthy = max(healthy, sum(s.HealthyHostCount))
			put(MetricHealthyHostCount, zone, float64(sum(s.HealthyHostCount)))
			put(MetricUnHealthyHostCount, zone, float64(sum(s.UnHealthyHostCount)))
		}
		counters := []struct {
			name string
			v    int64
		}{
			{MetricRequestCount, s.RequestCount - prev.RequestCount},
			{MetricHTTPCodeELB5XXCount, s.HTTPCode_ELB_5XX_Count - prev.HTTPCode_ELB_5XX_Count},
			{MetricHTTPCodeELB502Count, s.HTTPCode_ELB_502_Count - prev.HTTPCode_ELB_502_Count},
			{MetricHTTPCodeELB503Count, s.HTTPCode_ELB_503_Count - prev.HTTPCode_ELB_503_Count},
			{MetricHTTPCodeELB504Count, s.HTTPCode_ELB_504_Count - prev.HTTPCode_ELB_504_Count},
			{MetricHTTPCodeTarget2XXCount, s.HTTPCode_Target_2XX_Count - prev.HTTPCode_Target_2XX_Count},
			{MetricHTTPCodeTarget4XXCount, s.HTTPCode_Target_4XX_Count - prev.HTTPCode_Target_4XX_Count},
			{MetricHTTPCodeTarget5XXCount, s.HTTPCode_Target_5XX_Count - prev.HTTPCode_Target_5XX_Count},
			{MetricUnhealthyRoutingRequestCount, s.UnhealthyRoutingRequestCount - prev.UnhealthyRoutingRequestCount},
			{MetricHTTPCodeELB4XXCount, s.HTTPCode_ELB_4XX_Count - prev.HTTPCode_ELB_4XX_Count},
			{MetricHTTPCodeELB3XXCount, s.HTTPCode_ELB_3XX_Count - prev.HTTPCode_ELB_3XX_Count},
			{MetricDesyncNonCompliantCount, s.DesyncMitigationMode_NonCompliant_Request_Count - prev.DesyncMitigationMode_NonCompliant_Request_Count},
			{MetricRejectedConnectionCount, s.RejectedConnectionCount - prev.RejectedConnectionCount},
			{MetricHTTPFixedResponseCount, s.HTTP_Fixed_Response_Count - prev.HTTP_Fixed_Response_Count},
			{MetricHTTPRedirectCount, s.HTTP_Redirect_Count - prev.HTTP_Redirect_Count},
		}
		for _, c := range counters {
			if c.v > 0 { // reported only when non-zero
				put(c.name, zone, float64(c.v))
				put(c.name, all, float64(c.v))
			}
		}
		if d := s.TargetResponses - prev.TargetResponses; d > 0 {
			avg := (s.TargetResponseTimeTotal - prev.TargetResponseTimeTotal) / time.Duration(d)
			put(MetricTargetResponseTime, zone, avg.Seconds())
		}
	}
	if v, ok := requestCountPerTarget(requests, healthy, len(p.lb.Targets())); ok {
		put(MetricRequestCountPerTarget, all, v)
	}
	p.publishHealth(now)
	p.publishGroups(now)
}

// publishGroups puts each target group's RequestCount, RequestCountPerTarget,
// HealthyHostCount, UnHealthyHostCount and HTTPCode_Target_5XX_Count under
// LoadBalancer and TargetGroup, when the load balancer has several target
// groups (a service's policies track its own); with one, nothing more than
// before.
func (p *MetricPublisher) publishGroups(now time.Time) {
	names := p.lb.TargetGroupNames()
	if len(names) < 2 {
		return
	}
	if p.tgs == nil {
		p.tgs = map[string]TargetGroupCounts{}
	}
	for _, name := range names {
		c := p.lb.TargetGroupCounts(name)
		prev := p.tgs[name]
		p.tgs[name] = c
		dims := map[string]string{DimLoadBalancer: p.name, DimTargetGroup: name}
		put := func(metric string, v float64) { p.sink.PutMetric(Namespace, metric, dims, now, v) }
		put(MetricHealthyHostCount, float64(c.Healthy))
		put(MetricUnHealthyHostCount, float64(c.Unhealthy)) // as a node's: draining and initial targets are neither
		if d := c.Requests - prev.Requests; d > 0 {
			put(MetricRequestCount, float64(d))
		}
		if d := c.Target5XX - prev.Target5XX; d > 0 {
			put(MetricHTTPCodeTarget5XXCount, float64(d))
		}
		if v, ok := requestCountPerTarget(c.Requests-prev.Requests, c.Healthy, c.Targets); ok {
			put(MetricRequestCountPerTarget, v)
		}
	}
}

// publishHealth puts each live node's target group health (1 or 0 zone, per
// AvailabilityZone; the zone counts under the LoadBalancer alone) and its
// ATW counts, always (as AWS reports them). A stopped node publishes
// nothing.
func (p *MetricPublisher) publishHealth(now time.Time) {
	lb := p.lb
	put := func(name string, dims map[string]string, v float64) {
		p.sink.PutMetric(Namespace, name, dims, now, v)
	}
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	var routing, dns, live float64
	for _, n := range lb.Nodes() {
		z := n.Zone()
		if !lb.NodeUp(z) {
			continue
		}
		live++
		dims := p.zoneDimensions(z)
		r, d := one(lb.RoutingHealthy(z)), one(lb.DNSHealthy(z))
		routing, dns = routing+r, dns+d
		anomalous, mitigated := lb.AnomalyCounts(z)
		for _, m := range []struct {
			name string
			v    float64
		}{
			{MetricHealthyStateRouting, r}, {MetricUnhealthyStateRouting, 1 - r},
			{MetricHealthyStateDNS, d}, {MetricUnhealthyStateDNS, 1 - d},
			{MetricAnomalousHostCount, float64(anomalous)}, {MetricMitigatedHostCount, float64(mitigated)},
		} {
			put(m.name, dims, m.v)
		}
	}
	if live > 0 {
		all := p.Dimensions()
		put(MetricHealthyStateRouting, all, routing)
		put(MetricUnhealthyStateRouting, all, live-routing)
		put(MetricHealthyStateDNS, all, dns)
		put(MetricUnhealthyStateDNS, all, live-dns)
	}
}

// requestCountPerTarget is one sample of RequestCountPerTarget: the
// requests of the sample spread over the healthy targets (as the nodes see
// them; every registered target when none is healthy). Like the ELB it
// reports nothing when there was no traffic; the Sum over a minute is the
// requests per target per minute that ALBRequestCountPerTarget tracks.
func requestCountPerTarget(requests int64, healthy, registered int) (float64, bool) {
	n := healthy
	if n == 0 {
		n = registered
	}
	if requests <= 0 || n == 0 {
		return 0, false
	}
	return float64(requests) / float64(n), true
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
