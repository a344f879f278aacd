// Package longtest marks the tests that `make test` leaves out and
// `make test-long` runs: comparisons of two runs, runs that load the machine
// on purpose, and second runtimes of an end-to-end run another test already
// covers. `make test` stays near ten minutes on a 2-core machine; each long
// test says, when skipped, why it is long and how to run it.
package longtest
