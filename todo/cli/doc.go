// Package cli is SimplyDone's command line: the flags and environment of one
// instance, its simulated boot, and `hog` (chaos's cpu-hog inside a
// container). cmd/simplydone and `lab simplydone` (the lab's own binary,
// which the process runtime runs and the Docker image is built from) both
// call Main, so the two are the same server.
package cli
