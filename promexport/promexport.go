package promexport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/simplydone/lab/sim/alb"
)

// Source is what the collector reads: the load balancer.
type Source interface {
	Nodes() []*alb.Node
	Dimension() string
	TargetGroupDimension() string
	TargetGroupNames() []string                          // its target groups, its own first
	TargetGroupCounts(name string) alb.TargetGroupCounts // one group's health now
}

// groupLabels label a target group's series: the load balancer, the target
// group by name (a stack's service) and, for a node's counts, the node's
// zone.
var groupLabels = []string{"LoadBalancer", "target_group", "AvailabilityZone"}

type groupCounter struct {
	desc *prometheus.Desc
	get  func(alb.TargetGroupCounts) int64
}

var requestLabels = []string{"LoadBalancer", "TargetGroup", "AvailabilityZone"}

// hostLabels label a node's host counts: the targets' zone
// (AvailabilityZone) and the node's (node).
var hostLabels = []string{"LoadBalancer", "TargetGroup", "AvailabilityZone", "node"}

type counter struct {
	desc *prometheus.Desc
	get  func(alb.Snapshot) int64
}

// A family's name and help: the Collector's descriptors and the gatherer's
// families (gather.go) are made from these.
type family struct{ name, help string }

// nodeCounters are a node's counters (requestLabels).
var nodeCounters = []struct {
	family
	get func(alb.Snapshot) int64
}{
	{family{"RequestCount", "Requests for which a load balancer node chose a target."}, func(s alb.Snapshot) int64 { return s.RequestCount }},
	{family{"UnhealthyRoutingRequestCount", "Requests routed by fail-open (no healthy target)."}, func(s alb.Snapshot) int64 { return s.UnhealthyRoutingRequestCount }},
	{family{"HTTPCode_ELB_3XX_Count", "3XX redirection codes the load balancer generated."}, func(s alb.Snapshot) int64 { return s.HTTPCode_ELB_3XX_Count }},
	{family{"HTTPCode_ELB_4XX_Count", "4XX codes the load balancer generated."}, func(s alb.Snapshot) int64 { return s.HTTPCode_ELB_4XX_Count }},
	{family{"HTTPCode_ELB_5XX_Count", "5XX codes the load balancer generated."}, func(s alb.Snapshot) int64 { return s.HTTPCode_ELB_5XX_Count }},
	{family{"HTTPCode_ELB_502_Count", "502 codes the load balancer generated."}, func(s alb.Snapshot) int64 { return s.HTTPCode_ELB_502_Count }},
	{family{"HTTPCode_ELB_503_Count", "503 codes the load balancer generated."}, func(s alb.Snapshot) int64 { return s.HTTPCode_ELB_503_Count }},
	{family{"HTTPCode_ELB_504_Count", "504 codes the load balancer generated."}, func(s alb.Snapshot) int64 { return s.HTTPCode_ELB_504_Count }},
	{family{"HTTPCode_Target_2XX_Count", "2XX codes the targets answered."}, func(s alb.Snapshot) int64 { return s.HTTPCode_Target_2XX_Count }},
	{family{"HTTPCode_Target_3XX_Count", "3XX codes the targets answered."}, func(s alb.Snapshot) int64 { return s.HTTPCode_Target_3XX_Count }},
	{family{"HTTPCode_Target_4XX_Count", "4XX codes the targets answered."}, func(s alb.Snapshot) int64 { return s.HTTPCode_Target_4XX_Count }},
	{family{"HTTPCode_Target_5XX_Count", "5XX codes the targets answered."}, func(s alb.Snapshot) int64 { return s.HTTPCode_Target_5XX_Count }},
	{family{"NewConnectionCount", "Client connections the load balancer node accepted."}, func(s alb.Snapshot) int64 { return s.NewConnectionCount }},
	{family{"RejectedConnectionCount", "Client connections the load balancer node refused at its connection cap."}, func(s alb.Snapshot) int64 { return s.RejectedConnectionCount }},
	{family{"DesyncMitigationMode_NonCompliant_Request_Count", "Requests that do not comply with RFC 7230 (desync mitigation)."}, func(s alb.Snapshot) int64 { return s.DesyncMitigationMode_NonCompliant_Request_Count }},
}

// A node's summary and gauges (requestLabels, hostLabels).
var (
	trtFamily = family{"TargetResponseTime",
		"Seconds from the request leaving the load balancer to the target's response headers (request time)."}
	activeFamily = family{"ActiveConnectionCount",
		"Client-to-load-balancer and load-balancer-to-target connections open now."}
	healthyFamily = family{"HealthyHostCount",
		"Targets in AvailabilityZone that the load balancer node in zone node sees healthy."}
	unhealthyFamily = family{"UnHealthyHostCount",
		"Targets in AvailabilityZone that the load balancer node in zone node sees unhealthy."}
)

// groupCounters are a node's counters for one target group (groupLabels).
var groupCounters = []struct {
	family
	get func(alb.TargetGroupCounts) int64
}{
	{family{"TargetGroup_RequestCount", "Requests the node in AvailabilityZone routed to a target of the target group."}, func(c alb.TargetGroupCounts) int64 { return c.Requests }},
	{family{"TargetGroup_HTTPCode_Target_2XX_Count", "2XX codes the target group's targets answered through the node."}, func(c alb.TargetGroupCounts) int64 { return c.Target2XX }},
	{family{"TargetGroup_HTTPCode_Target_4XX_Count", "4XX codes the target group's targets answered through the node."}, func(c alb.TargetGroupCounts) int64 { return c.Target4XX }},
	{family{"TargetGroup_HTTPCode_Target_5XX_Count", "5XX codes the target group's targets answered through the node."}, func(c alb.TargetGroupCounts) int64 { return c.Target5XX }},
	{family{"TargetGroup_HTTPCode_ELB_503_Count", "503 codes the node answered for the target group: no target to route to."}, func(c alb.TargetGroupCounts) int64 { return c.NoTarget }},
}

// A target group's health gauges (groupLabels[:2]).
var (
	groupHealthyFamily = family{"TargetGroup_HealthyHostCount",
		"The target group's registered targets that the live nodes see healthy."}
	groupUnhealthyFamily = family{"TargetGroup_UnHealthyHostCount",
		"The target group's registered targets that the live nodes see unhealthy (not initial, not draining)."}
)

func (f family) desc(labels []string) *prometheus.Desc {
	return prometheus.NewDesc(f.name, f.help, labels, nil)
}

// Collector turns the nodes' counters into metrics at each scrape, through
// a prometheus.Registry. The endpoint gathers with its own gatherer
// (gather.go), which exposes the same; the Collector stays its reference,
// and what the endpoint falls back to in the cases the gatherer leaves to
// the registry.
type Collector struct {
	src       Source
	counters  []counter
	trt       *prometheus.Desc
	active    *prometheus.Desc
	healthy   *prometheus.Desc
	unhealthy *prometheus.Desc
	// per target group (target_group="NAME")
	groupCounters  []groupCounter
	groupHealthy   *prometheus.Desc
	groupUnhealthy *prometheus.Desc
}

// NewCollector reads src's nodes at every scrape.
func NewCollector(src Source) *Collector {
	c := &Collector{
		src:            src,
		trt:            trtFamily.desc(requestLabels),
		active:         activeFamily.desc(requestLabels),
		healthy:        healthyFamily.desc(hostLabels),
		unhealthy:      unhealthyFamily.desc(hostLabels),
		groupHealthy:   groupHealthyFamily.desc(groupLabels[:2]),
		groupUnhealthy: groupUnhealthyFamily.desc(groupLabels[:2]),
	}
	for _, k := range nodeCounters {
		c.counters = append(c.counters, counter{k.desc(requestLabels), k.get})
	}
	for _, k := range groupCounters {
		c.groupCounters = append(c.groupCounters, groupCounter{k.desc(groupLabels), k.get})
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, k := range c.counters {
		ch <- k.desc
	}
	ch <- c.trt
	ch <- c.active
	ch <- c.healthy
	ch <- c.unhealthy
	for _, k := range c.groupCounters {
		ch <- k.desc
	}
	ch <- c.groupHealthy
	ch <- c.groupUnhealthy
}

// Collect implements prometheus.Collector: one snapshot per node.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	lb, tg := c.src.Dimension(), c.src.TargetGroupDimension()
	groups := c.src.TargetGroupNames()
	if len(groups) > 1 {
		// a node's own counts cover every target group: labelled with
		// none, as CloudWatch's per-LoadBalancer metrics; each group's
		// are the TargetGroup_ families (target_group="NAME")
		tg = ""
	}
	for _, name := range groups {
		h := c.src.TargetGroupCounts(name)
		ch <- prometheus.MustNewConstMetric(c.groupHealthy, prometheus.GaugeValue, float64(h.Healthy), lb, name)
		ch <- prometheus.MustNewConstMetric(c.groupUnhealthy, prometheus.GaugeValue, float64(h.Unhealthy), lb, name)
	}
	for _, n := range c.src.Nodes() {
		for _, name := range groups {
			gc := n.GroupCounts(name)
			for _, k := range c.groupCounters {
				ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, float64(k.get(gc)), lb, name, n.Zone())
			}
		}
		s := n.Metrics()
		zone := n.Zone()
		for _, k := range c.counters {
			ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, float64(k.get(s)), lb, tg, zone)
		}
		ch <- prometheus.MustNewConstSummary(c.trt, uint64(s.TargetResponses), s.TargetResponseTimeTotal.Seconds(), nil, lb, tg, zone)
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(s.ActiveConnectionCount), lb, tg, zone)
		zones := map[string]bool{zone: true}
		for z := range s.HealthyHostCount {
			zones[z] = true
		}
		for z := range s.UnHealthyHostCount {
			zones[z] = true
		}
		for z := range zones {
			ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, float64(s.HealthyHostCount[z]), lb, tg, z, zone)
			ch <- prometheus.MustNewConstMetric(c.unhealthy, prometheus.GaugeValue, float64(s.UnHealthyHostCount[z]), lb, tg, z, zone)
		}
	}
}

// Server is the Prometheus endpoint of one running lab.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen serves src's metrics, and extra collectors' (the data tier's:
// NewDBCollector), at http://127.0.0.1:PORT/metrics on a free port, until
// Close.
func Listen(src Source, extra ...prometheus.Collector) (*Server, error) {
	h, err := newHandler(src, extra...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("prometheus endpoint: listen on loopback: %w", err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 8 << 10},
		ln: netutil.LimitListener(ln, maxConns), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.srv.Serve(s.ln)
	}()
	return s, nil
}

// newHandler is the endpoint's handler: GET /metrics, for loopback hosts.
func newHandler(src Source, extra ...prometheus.Collector) (http.Handler, error) {
	// ref is what the endpoint gathered from before the gatherer: it
	// still refuses the same collectors, and it is the gatherer's
	// reference (gather.go)
	ref := prometheus.NewPedanticRegistry()
	for _, c := range append([]prometheus.Collector{NewCollector(src)}, extra...) {
		if err := ref.Register(c); err != nil {
			return nil, fmt.Errorf("prometheus endpoint: %w", err)
		}
	}
	var more prometheus.Gatherer
	if len(extra) > 0 {
		reg := prometheus.NewPedanticRegistry()
		for _, c := range extra {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("prometheus endpoint: %w", err)
			}
		}
		more = reg
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerForTransactional(newGatherer(src, ref, more),
		promhttp.HandlerOpts{MaxRequestsInFlight: maxScrapes, Timeout: 10 * time.Second}))
	return loopbackHost(mux), nil
}

// The endpoint's bounds: connections served at once (others wait in the
// listen queue) and scrapes in flight (others get 503).
const (
	maxConns   = 16
	maxScrapes = 4
)

// loopbackHost serves only requests addressed to a loopback host, so a web
// page cannot read the metrics through a DNS name rebound to 127.0.0.1
// (its Host header names the page's site): 421 Misdirected Request.
func loopbackHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		ip, perr := netip.ParseAddr(strings.Trim(host, "[]"))
		if host != "localhost" && (perr != nil || !ip.IsLoopback()) {
			http.Error(w, "the lab's metrics answer only on a loopback address", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// URL is where Prometheus scrapes.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/metrics" }

// Close stops the endpoint and waits for its goroutine.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
