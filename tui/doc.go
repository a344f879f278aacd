// Package tui is the live terminal view of `lab run`: the header with the
// phase, the load and each SLO's live state; a column per zone with its
// load-balancer node (up or down, failing open, in the load balancer's DNS
// answer or out) and its instances (lifecycle, target health, CPU against
// the alarms' thresholds, and each node's state of a target where the
// nodes' gossiped views differ); the Auto Scaling group and its alarms, each with
// what its policy will do at the next evaluation (next.go); charts of
// requests per second, p50 and p99 and the instances in service per zone,
// with a row marking scale-outs, scale-ins and faults under them; and the
// event log, where each event says why it happened. One aggregator goroutine builds an immutable Snapshot a few
// times a second from the run's events and the lab's observation (through
// lab.Handle: the view imports no sim/ package); the bubbletea Model stores
// it, and View only formats.
//
// k and z inject faults by hand through the handle, into the run's one
// chaos runner (chaos.go). The same
// snapshots are served as JSON lines on RUN_DIR/live.sock (socket.go), for
// `lab watch` to show the run read-only from another terminal; Broadcast
// serves them when no view is up.
package tui
