// Package docker is the az.Runtime that runs instances as Docker containers,
// and the only importer of the Docker SDK. Each instance is a container on
// the host network bound to its zone's loopback address, held to its CPU
// share, memory and pids by the engine, read-only, unprivileged, and
// labelled with the run that owns it so that Reap can clean up after a lab
// that crashed. Images are built locally from a static binary, FROM scratch,
// without any registry.
package docker
