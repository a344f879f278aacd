// Package aztest holds tests every az.Runtime must pass: RunContract drives
// a runtime through launch, stop and start, pause and resume, kill,
// terminate and close, over real HTTP on zone loopback addresses, so the
// process and Docker runtimes are held to one behaviour.
package aztest
