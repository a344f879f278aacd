// Package process is the az.Runtime that runs instances as local processes,
// the lab's embedded default when no Docker engine is around. Each instance
// is a process in its own process group, bound to its zone address, held to
// its CPU share and memory size by a cgroup where the machine allows one,
// and recorded on disk so that Reap can clean up after a lab that crashed.
package process
