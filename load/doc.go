// Package load drives the lab's traffic: one vegeta attack per run, paced by
// a piecewise-linear RampPacer through the phases of a load profile, sending
// a seeded mix of SimplyDone requests to the load balancer's nodes. When the
// phases count users instead (the closed model, vusers.go), virtual users
// send the same requests through the same client, each waiting for its
// answer and thinking before the next.
//
// Run reports per-second statistics as each second closes and a Result for
// the whole run, including how far the generator fell behind its schedule:
// a run whose sends lagged too much is Invalid, because its latencies would
// describe a lighter load than the one offered. VerifyWrites checks after a
// run that every acknowledged create can still be read.
package load
