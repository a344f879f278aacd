// Package chaos injects faults into a running lab on a scenario's timeline
// and guarantees that every fault it injects is reverted: when its time is
// up, when the run ends, or when the run is interrupted.
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
//   - http-error: for Duration the load balancer answers Percent of the
//     requests to targets in Zone (all zones if empty) with Status, as the
//     target would (counted as target 5xx, not ELB).
//   - latency: for Duration the load balancer delays Percent of the requests
//     to targets in Zone by Latency ± Jitter (request time) before forwarding.
//   - az-outage: after FIS's AZ Availability: Power Interruption, for
//     Duration launches into Zone fail with InsufficientInstanceCapacity and
//     every running instance in Zone is stopped; then the zone takes launches
//     again and the instances still there are started. Not modelled: the
//     zone's load balancer node going down, the subnet blackhole, and the
//     Auto Scaling group's AZRebalance after recovery.
//
// A fault whose effect is not seen (by the runtime, the load balancer or
// the group) is undone at once and published as FaultNotApplied; a request
// fault that hit no request by its end is reported the same way. Victims are
// chosen at random with the run's seed, so a run can be repeated; so are the
// requests a request fault hits.
//
// chaos does not import the runtime: it acts through the Instances interface
// the lab provides, which only ever holds this run's instances.
package chaos
