// Package alb is the lab's Application Load Balancer: one node per enabled
// Availability Zone, each a real HTTP reverse proxy on its zone's loopback
// address, in front of one target group.
//
// It copies the ALB behaviour that changes an outcome:
//
//   - every node health-checks every registered target on its own, with AWS's
//     state machine (initial, healthy, unhealthy, draining, unused) and reason
//     codes (Elb.InitialHealthChecking, Target.FailedHealthChecks, ...);
//   - the target group's routing algorithm, run on each node on its own, as
//     AWS does: round robin (each node keeps its own position);
//     least_outstanding_requests (fewest requests this node has in progress
//     to the target, ties rotating); weighted_random (uniform over the
//     routable targets, from a per-node random source seeded by
//     Config.Seed);
//   - slow start, with round robin only: a target that turns healthy while
//     another healthy target is not in slow start gets a weight rising
//     linearly from 0.1 to 1 over the duration, applied as a random skip of
//     its turn; it ends early when the target turns unhealthy or is
//     deregistered, and starts again on its next healthy;
//   - target group health (thresholds.go): below the unhealthy_state_routing
//     threshold (by default: no healthy target) the node fails open and
//     routes to all its targets; below the dns_failover threshold its zone
//     is unhealthy in DNS (DNSHealthy, DNSZones, for the DNS entry). Both
//     count over the zone's targets with cross-zone off, over all zones'
//     with it on;
//   - cross-zone off: each node routes only to its own zone's targets, so
//     the split is per node and zone, not per target, and a zone without
//     targets answers 503;
//   - Automatic Target Weights (atw.go): anomaly detection always on, per
//     node (5xx and connection errors compared with the peers', results
//     normal/anomalous in AnomalyDetection and TargetAnomalyChanged events);
//     with weighted_random and anomaly mitigation on, an anomalous target's
//     weight is cut and later ramped back up. The thresholds and the weight
//     curve are the lab's choices (AWS does not document them);
//   - 503 when no target is registered, 502 when a target refuses, resets or
//     answers garbage, 504 when a connection cannot be made within 10 s or the
//     target says nothing for the idle timeout; no retries to another target;
//   - deregistration drains: no new requests, in-flight ones finish, and the
//     ones still running when the delay ends get 502;
//   - CloudWatch's metric names (RequestCount, TargetResponseTime,
//     HTTPCode_ELB_5XX_Count, HealthyHostCount, ...), published as deltas
//     by MetricPublisher into a MetricSink the lab backs with CloudWatch;
//   - one health state per target (TargetHealth, FoldHealth), as
//     DescribeTargetHealth shows one over the nodes' own views;
//   - a zone failure (nodectl.go): StopNode closes the node's listener and
//     ends its health checks; StartNode brings it back as a replacement
//     node, every target initial on it and checked at once, its anomaly
//     detection started over.
//
// Protocol (node.go, h1serve.go): clients speak HTTP/1.1 or HTTP/2 over cleartext
// (h2c with prior knowledge); a request line over 16 K answers 414, a
// header line over 16 K or a request header over 64 K answers 431, a
// malformed request 400, and none of them reaches a target; a client that
// has not sent its whole request header within the idle timeout is cut
// off, and client_keep_alive closes a connection on its next answer.
//
// The node's own HTTP/1.1 front (h1serve.go) serves the common request
// (no body or a Content-Length one, a plain header) with a lean parser and response writer that
// answer byte for byte as net/http's server would (h1serve_test.go), and
// hands a connection to net/http's server, with the bytes it read, at the
// first request it does not take: bodies, upgrades, h2c, 100-continue and
// every malformed or over-limit request are net/http's, as before.
//
// Under the front, on Linux, an event loop (evloop_linux.go; on by
// default, Config.GoroutineFront takes it out) serves the commonest of those requests itself:
// one goroutine and one epoll set own the client connections and the
// connections to the targets, so a request costs no goroutine wake-up; it
// takes a request the front would take when no listener rule, stickiness
// or fault applies and its desync verdict is compliant, and writes what the
// front would (evloop_linux_test.go compares the two byte for byte); at
// the first request it does not take, the connection goes to the goroutine
// front with the bytes read, and on from there as before.
//
// Below both (clientconn.go) each client connection sees the
// request's own bytes first: it classifies every HTTP/1 request for
// desync mitigation (desync.go: routing.http.desync_mitigation_mode,
// monitor, defensive by default or strictest, with http_desync_guardian's
// classes and reasons, counted in
// DesyncMitigationMode_NonCompliant_Request_Count and written to the access
// log's classification fields), drops header lines whose names are not
// [-A-Za-z0-9]+ when routing.http.drop_invalid_header_fields.enabled is
// on, and turns the answers Go's server makes itself (a malformed request
// or header 400, a header over the limit 431 or 414, an unsupported
// Transfer-Encoding 501) into the ELB's, counted in HTTPCode_ELB_4XX_Count
// and logged. A body that stalls for the idle timeout gets 408, a client
// that stops reading is cut at the idle timeout (per-read and per-write
// deadlines; every inactivity timeout fires between d and d + d/32, at
// most 50 ms of wall time late, never early: deadline.go), and a node takes at most DefaultMaxClientConns client
// connections at once (a lab limit; the rest are reset and counted in
// RejectedConnectionCount). Requests Go's parser refuses (a header value
// with a control character, a Transfer-Encoding other than chunked alone,
// a header name with a character outside RFC 7230's tokens while
// drop_invalid_header_fields is off) are answered 400 or 501 in every mode,
// where the ALB in monitor or defensive mode might forward some of them. The
// access log (accesslog.go), when Config.AccessLog is set, has one line
// per request in ALB's field order; the node hands each entry to one
// writer goroutine through a buffered channel and drops (and counts) an
// entry rather than wait.
//
// The proxy path (proxy.go, fwdwrite.go, upstream.go): each node keeps its
// own keep-alive HTTP/1.1 connections to each target (no http.Transport,
// so no retry on another connection: a target that closes a reused
// connection mid-request gives 502, as on AWS), and an idle connection is
// peeked (MSG_PEEK) before reuse so a target's FIN is seen first. The
// request is written and the response read on the handler's goroutine;
// the common response (HTTP/1.1, one Content-Length, plain header lines)
// is read by a lean parser, any other by http.ReadResponse. On
// the fast path (no body, no active fault, the node's own transport
// chain) the request line and headers are written straight into the
// connection's buffer from the client's header, with the hop-by-hop
// headers dropped and X-Forwarded-For/-Proto/-Port added, byte for byte
// what http.Request.Write would send (fwdwrite_test.go); other requests
// build an outbound header map and use http.Request.Write, and protocol
// upgrades (WebSocket) go through httputil.ReverseProxy. Bodies are
// copied with pooled 32 KiB buffers; counters are per-node atomics,
// aggregated when read (Metrics).
//
// The nodes' memberlist cluster, which gossips each node's view
// (Node.TargetStates), the DNS entry, which drops a zone below the
// dns_failover threshold (DNSHealthy), and the stable URL are package
// sim/entry's.
//
// All durations are AWS durations, waited on through the injected clock.
// fidelity_test.go checks each documented behaviour against the AWS page
// that documents it. Not here: sticky sessions.
package alb
