// Package lab wires a stack into a running web tier: zones on loopback, the
// runtime that runs instances, the load balancer's nodes and their DNS
// entry, CloudWatch and the alarms that run the scaling policies, the Auto
// Scaling group, the run's chaos runner, the event bus and its journal, and
// the run directory that keeps the evidence. It owns the order of start-up
// and shutdown, so that nothing outlives a run.
//
// Start brings a tier up (`lab up`); Run plays a scenario against it (`lab
// run`): load and chaos together, then every fault reverted, every
// acknowledged write checked, the SLOs judged and summary.json and the
// report written. Its files adapt the AWS parts to one another (fleet.go,
// chaoswire.go, metrics.go); the AWS behaviour itself lives in sim/ and
// chaos (see ARCHITECTURE.md).
//
// A stack's zones may run on other hosts (zones: with agent:): each such
// zone's instances run under its host's `lab agent`, driven through
// remoteZone, and the run's runtime is a zonedRuntime over them and the
// local one (agents.go); an az-outage there also cuts the host off, and a
// host memberlist declares dead is a lost zone (agentchaos.go).
package lab
