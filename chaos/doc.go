// Package chaos injects faults into a running lab on a scenario's timeline
// and guarantees that every fault it injects is reverted: when its time is
// up, when the run ends, on a stop condition, when the run is interrupted,
// and, after a crash, by `lab down` replaying the journal.
//
// Every fault is written to a journal (synced to disk) and published before
// it acts, and again when it is reverted. The actions:
//
//   - kill-instance: SIGKILL; nothing to revert, the Auto Scaling group
//     replaces the instance.
//   - stop-instance: stop, start again after Duration (a maintenance reboot).
//   - pause-instance: freeze (the gray failure) for Duration, then resume;
//     EC2 still says running, the load balancer's health checks time out.
//     Applied only if the runtime then reports the instance paused.
//   - cpu-hog: CPU burned inside the instance's own CPU limit for Duration,
//     so that its CPUUtilization (and the group's alarms) see it; applied
//     only if the runtime's reading of the instance then shows it busy.
//   - http-error: for Duration the load balancer answers Percent of the
//     requests to the targets with Status, as the target would (counted as
//     target 5xx, not ELB); with Count, only the first Count of them.
//   - latency, bandwidth, connection-reset, connection-timeout: network
//     faults on the path from the load balancer to the targets,
//     Toxiproxy-style, each hitting Percent of the requests (its toxicity):
//     Latency ± Jitter before forwarding; response bodies at Rate bytes per
//     second; the connection reset (the load balancer's own 502); the target
//     never answering (the load balancer's 504 after its idle timeout).
//   - az-partition: the load balancer's nodes cannot reach the zone's
//     targets while the zone runs: connections into it are blackholed (504
//     after the ALB's connect timeout) and so are its health checks (the
//     targets go unhealthy with Target.Timeout).
//   - az-outage: FIS's AZ Availability: Power Interruption
//     (https://docs.aws.amazon.com/fis/latest/userguide/az-availability-scenario.html).
//     For Duration launches into Zone fail with InsufficientInstanceCapacity
//     (Pause-ASG-Scaling), every running instance in Zone is stopped
//     (Stop-Instances), and the zone's subnets are cut off for the first
//     BlackholeFor (FISBlackhole: 2 minutes, Pause-network-connectivity's
//     PT2M, by default): every load-balancer node, the zone's own included,
//     cannot reach the zone's targets, so connections and health checks
//     time out. The zone's load-balancer node stays up, as FIS does not act
//     on it (with cross-zone on it serves from the other zones' targets);
//     with LBNode "down" (lb_node: down, a harsher test) it goes down too,
//     through a NodeController. When it ends, in the reverse order, the
//     instances still there are started, the node comes back, the subnets
//     take packets again and the zone takes launches again. A database
//     failover (FIS's Failover-RDS) is the part to add when the lab has a
//     data tier (see fault_azoutage.go).
//   - kill-lb-node: the zone's load-balancer node down for Duration.
//   - store-outage: the run's shared database locked for Duration: reads,
//     writes and SimplyDone's deep health check fail; applied only if an
//     instance's /health then fails.
//   - monkey: Chaos Monkey for workshops; expanded before the run into
//     kill-instance steps whose gaps are drawn from an exponential
//     distribution with MeanGap, never below MinGap.
//
// Which instances: a Selector (ids, a count, a percentage, oldest, newest,
// or at random with the run's seed), only ever among the run's own running
// instances. Limits refuse a fault that would take more instances or zones
// down at once than the scenario allows (FaultNotApplied).
//
// When: At from the start of the load, or from when an After condition
// (desired_capacity >= 4) first holds; Every with EveryJitter and Repeat
// for repetitions. Expand resolves the timeline with the seed, so `lab
// plan` prints what the run will do; each step's random choice uses its own
// draw of the seed, so it does not depend on what happened before it.
//
// A fault whose effect is not seen (by the runtime, the load balancer, the
// group or SimplyDone) is undone at once and published as FaultNotApplied;
// a request fault that hit no request by its end is reported the same way.
//
// Each fault is a small type in its own file (fault_kill.go, fault_stop.go,
// fault_pause.go, fault_cpuhog.go, fault_request.go for the five request
// faults, fault_partition.go, fault_lbnode.go, fault_store.go,
// fault_azoutage.go), as toxiproxy's toxics are: it applies itself,
// verifies that its effect is seen, and reverts itself (fault.go). A kind's
// plan checks what the lab offers and chooses what to act on; az-outage is
// a compound of parts applied in order and reverted in the reverse order.
// The faults know nothing of journals: the Runner (runner.go) numbers each
// fault, puts it on record, checks the limits, holds it for its duration,
// reverts it and keeps the counts, the same way for every kind.
//
// chaos does not import the runtime: it acts through the interfaces the lab
// provides (Instances, LoadBalancer, Capacity, NodeController, Store,
// Gauges), which only ever hold this run's instances.
package chaos
