// Package buildinfo reads what the Go toolchain stamped into the running
// binary (runtime/debug.ReadBuildInfo): the main module's version, the VCS
// commit and whether the tree was modified, the Go version, and whether cgo
// was on; and says how to get a static build of the lab when it is not one.
package buildinfo
