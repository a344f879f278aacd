// Package promexport serves a running lab's load-balancer metrics to
// Prometheus on loopback, under CloudWatch's names (namespace
// AWS/ApplicationELB: RequestCount, HTTPCode_ELB_5XX_Count,
// TargetResponseTime, HealthyHostCount, ...) with CloudWatch's dimensions
// as labels (LoadBalancer, TargetGroup, AvailabilityZone), so that a
// Grafana user can watch a run.
//
// A custom collector reads each node's counters at scrape time; nothing is
// added to the request path. Counts are Prometheus counters since the load
// balancer started (CloudWatch's Sum over a period is their increase);
// TargetResponseTime is a summary (sum and count, request seconds);
// HealthyHostCount and UnHealthyHostCount are gauges per node, labelled
// with the node's zone (node) and the targets' zone (AvailabilityZone),
// because each node keeps its own view of its targets' health.
//
// The endpoint listens on 127.0.0.1 and serves GET /metrics alone (other
// paths 404, other methods 405); a request whose Host is not a loopback
// address or localhost gets 421, so a web page on a DNS name rebound to
// 127.0.0.1 cannot read it. It serves at most 16 connections at once, with
// read, write and idle timeouts, and 4 scrapes in flight (more get 503).
package promexport
