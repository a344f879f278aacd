// Package archtest holds no code, only a test that keeps ARCHITECTURE.md
// true: each of the project's packages sits on a floor, and a package
// imports only from floors below its own (plus the few named exceptions).
// A change that makes a package import upward, or sideways where the design
// says it must not (tui into sim/, sim/asg into sim/alb), fails the test.
package archtest
