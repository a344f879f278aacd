// Package asg is the lab's EC2 Auto Scaling group: it keeps the desired
// capacity running across Availability Zones, registers instances with the
// target group before they go InService, replaces instances that fail EC2 or
// ELB health checks (terminate, then launch; launch first under an instance
// maintenance policy above 100%), runs step, simple and target tracking
// policies, picks instances to terminate by AWS's termination policies,
// rebalances zones launch-first when an impaired zone returns, pauses
// instances in lifecycle hooks, runs scheduled actions, and replaces
// instances with a new launch template version by instance refresh (with
// checkpoints and auto rollback) or, the single-server way, all at once.
// Every activity is published in AWS's words.
// A warm pool (warmpool.go) keeps instances initialised once and stopped
// beside the group, starts them on scale-out before any cold launch, and
// takes scaled-in instances back under its reuse policy.
//
// It does not import the load balancer, the runtime or CloudWatch: it
// defines the small interfaces it needs (Fleet, TargetGroup, CPUSink) and
// the lab wires them. It says which alarms AWS builds for a target tracking
// policy (TrackingAlarms, as plain specs each carrying its AlarmAction); lab
// creates them in CloudWatch and invokes the action (OnAlarm).
// The pure steps (placement, step adjustment, rounding, termination choice,
// health decision) are plain functions tested with tables; fidelity_test.go
// checks one documented AWS behaviour per row on a fake clock.
package asg
