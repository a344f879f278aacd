// Package osproc tells whether a process id still names the process the lab
// once saw, and what its environment says. The runtimes' reapers, the chaos
// journal and `lab down` share it: a pid alone can be reused; a pid with its
// start time in clock ticks since boot (field 22 of /proc/PID/stat) and the
// boot id names one process for good. Neither moves when the wall clock is
// stepped (NTP, suspend and resume), unlike a create time derived from the
// wall clock minus the uptime.
//
// Whether a run is alive is not decided here: a run holds a lock for its
// whole life (internal/runlock). This package identifies a pid where one
// must be identified (a recorded instance process before it is killed).
package osproc
