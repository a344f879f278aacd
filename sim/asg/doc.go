// Package asg is the lab's EC2 Auto Scaling group: it keeps the desired
// capacity running across Availability Zones, registers instances with the
// target group before they go InService, replaces instances that fail EC2 or
// ELB health checks (terminate, then launch), runs step and simple scaling
// policies when their alarms are in ALARM, and picks instances to terminate
// by AWS's termination policies. Every activity is published in AWS's words.
//
// It does not import the load balancer or the runtime: it defines the small
// interfaces it needs (Fleet, TargetGroup, CPUSink) and the lab wires them.
// The pure steps (placement, step adjustment, rounding, termination choice,
// health decision) are plain functions tested with tables.
package asg
