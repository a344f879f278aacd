// Package lab wires a stack into a running web tier: zones on loopback, the
// runtime that runs instances, the load balancer's nodes, the event bus and
// its journal, and the run directory that keeps the evidence. It owns the
// order of start-up and shutdown, so that nothing outlives a run.
//
// This first version launches the Auto Scaling group's desired capacity once,
// balanced over the zones, and keeps it registered with the load balancer;
// scaling, load and chaos arrive with `lab run`.
package lab
