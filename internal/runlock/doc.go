// Package runlock says whether a run is alive by a lock, not by a pid. A
// run holds an exclusive flock on <state dir>/<run id>.lock for its whole
// life (Hold); the file also says who holds it (the run directory, the
// owner's pid identity, the addresses and ports it serves on). Anything that
// would reap or revert a run first tries that lock without blocking (Try)
// and touches nothing it cannot take. The kernel drops the lock when the
// holder dies, however it dies, and no clock step can make a live holder
// look dead.
package runlock
