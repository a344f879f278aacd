// Package fdlimit counts the connections the lab's own process could not
// open because it had run out of file descriptors (EMFILE: its limit of
// open files; ENFILE: the system's). The load generator, the load
// balancer's nodes and their health checks all live in the lab's process
// and share its limit: when a run's load makes it hold that many sockets,
// their dials fail at once, and the 502s, failed health checks and
// transport errors that follow are the lab's, not the stack's. The run's
// verdict reads the count (lab/run.go) and calls such a run INVALID.
//
// The count is process-wide, as the limit is: one counter for every part
// of the process, read as a difference over a run.
package fdlimit
