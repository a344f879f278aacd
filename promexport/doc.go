// Package promexport serves a running lab's load-balancer metrics to
// Prometheus on loopback, under CloudWatch's names (namespace
// AWS/ApplicationELB: RequestCount, HTTPCode_ELB_5XX_Count,
// TargetResponseTime, HealthyHostCount, ...) with CloudWatch's dimensions
// as labels (LoadBalancer, TargetGroup, AvailabilityZone), so that a
// Grafana user can watch a run.
//
// A custom collector reads each node's counters at scrape time; nothing is
// added to the request path. The endpoint gathers them through its own
// gatherer (gather.go), which keeps its metric families from one scrape to
// the next and exposes byte for byte what a registry of the collector
// would, at a fraction of a registry's cost per scrape (issue 17: the
// node's event loop shares one P with the scrape in bench/alb.sh). Counts are Prometheus counters since the load
// balancer started (CloudWatch's Sum over a period is their increase);
// TargetResponseTime is a summary (sum and count, request seconds);
// HealthyHostCount and UnHealthyHostCount are gauges per node, labelled
// with the node's zone (node) and the targets' zone (AvailabilityZone),
// because each node keeps its own view of its targets' health.
//
// Per target group (a stack's services, each its own target group), the
// TargetGroup_ families carry target_group="NAME": each node's
// TargetGroup_RequestCount, TargetGroup_HTTPCode_Target_2XX/4XX/5XX_Count
// and TargetGroup_HTTPCode_ELB_503_Count (no target in the group), labelled
// with the node's zone (AvailabilityZone), and the group's
// TargetGroup_HealthyHostCount and TargetGroup_UnHealthyHostCount as the
// live nodes see them. With several target groups the node-wide families
// above count every group and carry TargetGroup="" (CloudWatch's
// per-LoadBalancer metrics); with one, its TargetGroup dimension, as
// before.
//
// The endpoint listens on 127.0.0.1 and serves GET /metrics alone (other
// paths 404, other methods 405); a request whose Host is not a loopback
// address or localhost gets 421, so a web page on a DNS name rebound to
// 127.0.0.1 cannot read it. It serves at most 16 connections at once, with
// read, write and idle timeouts, and 4 scrapes in flight (more get 503).
package promexport
