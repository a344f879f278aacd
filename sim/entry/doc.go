// Package entry is how clients reach the lab's load balancer: the ALB's
// nodes in one memberlist cluster, a DNS server that hands out the live
// nodes under the load balancer's name, the client-side resolver and dialer
// that use it, and a stable URL for people.
//
// The cluster. Each per-zone ALB node runs a github.com/hashicorp/memberlist
// member bound to its zone's address (127.0.N.1, its own port). Timings come
// from memberlist.DefaultLocalConfig() stretched by Timing.Factor (10 by
// default) and read as AWS durations, so they run through the lab's clock:
// a probe interval of 10 s (each member probes one other member per
// interval, in turn), a probe timeout of 2 s, gossip every 1 s, push/pull
// every 150 s, and a suspicion of 3 probe intervals (30 s) at the least.
// With three nodes and the DNS observer, a failed node is declared dead
// about 50 AWS seconds after it stops answering (measured: 2.46-2.49 s of
// wall time at speed 20; 1.0 s, once 1.4 s, at speed 50), the same order as Route 53 health checks (30 s
// interval, failure threshold 3, or 10 s for fast checks). Wall-time floors
// (probe timeout 50 ms, probe interval 200 ms, gossip 20 ms) keep high
// speeds from turning scheduling delays into false deaths.
//
// The cluster is the run's own: every member carries the run's Gossip, a
// key of 32 random bytes (memberlist's SecretKey: each packet and stream is
// AES-256-GCM encrypted and authenticated) and a label, both new per run
// (NewGossip). A member without them is refused, and a memberlist node
// outside the run (another lab, a stray agent on loopback) cannot join, nor
// gossip a node dead or alive and so steer the DNS answers.
//
// Nodes gossip their view of target health: each member publishes its
// node's map target -> state with a version, through memberlist broadcasts
// (re-broadcast by whoever learns something newer) and push/pull state
// exchange, so every member, and the TUI and metrics through Views and
// Disagreements, can see where the nodes' views differ.
//
// When a zone fails its node goes down: its listener closes, so connections
// are refused, and its member shuts down without leaving. Nothing tells the
// others: memberlist's failure detector finds out, and only then does the
// DNS server stop handing out the node's address.
//
// The DNS server (github.com/miekg/dns, UDP and TCP on 127.0.0.1) answers
// the load balancer's name, shaped like AWS's
// (simplydone-1234567890.us-east-1.elb.localhost.), with an A record per
// live node and a TTL of 60 AWS seconds converted to wall seconds through
// the clock (at least 1). It decides liveness from its own memberlist view:
// it joins the cluster as an observer member, as Route 53 health-checks the
// nodes, and never asks the load balancer. DNSConfig.Eligible is the hook
// for the target group's dns_failover threshold: a zone it rejects leaves
// the answer. When no node is both alive and eligible it answers every
// alive node, and when none is alive every node, as Route 53 does when all
// records are unhealthy.
//
// It binds loopback only and answers for its name alone, with no recursion:
// another name under the name's parent is NXDOMAIN, any other name REFUSED,
// anything but a standard query NOTIMP. A flood stays bounded: UDP is read
// by a fixed pool of goroutines (excess queries are dropped in the socket,
// as on a busy server), TCP connections are capped (maxTCPConns; the rest
// wait in the listen queue) and read with miekg/dns's timeouts.
//
// Clients. Resolver resolves through that server and caches each answer for
// its TTL. Dialer starts each connection at the next cached address in
// turn. By default (NextAddress) a connection refused or timed out there is
// tried on the next address of the answer, as Go's net.Dialer, browsers and
// curl do with several A records (Go spreads its Timeout over the
// addresses, at least 2 s each while that much is left; so does Dialer): a
// client whose cached answer holds a dead node's address still gets
// through. With OneAddress it does not go on: a dead cached address gives
// errors until the TTL passes and the name is resolved again, the older
// behaviour a scenario can choose (load.client: one-address) to show what a
// client that does not retry sees. The load generator dials as the
// scenario says; the stable URL always as NextAddress.
//
// FrontDoor is the stable URL for people (http://127.0.0.1:8080/ by
// default): a small HTTP proxy that resolves and dials through a
// NextAddress Dialer and forwards, so it keeps working when any single zone fails. It
// models the browser's resolver and connection logic on the person's
// machine; it is not an AWS component, and AWS has nothing like it in front
// of an ALB. Its server closes a browser's connection idle for
// DefaultFrontDoorIdle (the ALB's default idle timeout).
package entry
