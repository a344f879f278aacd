// Package chaos injects faults into a running lab on a scenario's timeline
// and guarantees that every fault it injects is reverted: when its time is
// up, when the run ends, or when the run is interrupted.
//
// Every fault is written to a journal (synced to disk) and published before
// it acts, and again when it is reverted. Version 1 has kill-instance (SIGKILL, nothing to
// revert: the Auto Scaling group replaces the instance) and stop-instance
// (stop, then start again after a while: a maintenance reboot). Victims are
// chosen at random with the run's seed, so a run can be repeated.
//
// chaos does not import the runtime: it acts through the Instances interface
// the lab provides, which only ever holds this run's instances.
package chaos
