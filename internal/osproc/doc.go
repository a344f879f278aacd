// Package osproc tells whether a process id still names the process the lab
// once saw, and what its environment says. The runtimes' reapers, the chaos
// journal's owner check and `lab down` share it: a pid alone can be reused,
// a pid with its start time names one process for good.
package osproc
