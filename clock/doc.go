// Package clock gives the lab its sense of time. AWS's timings are slow (30 s
// health checks, one-minute alarm periods, 300 s cooldowns), so the lab runs on
// a scaled clock: with speed 10, one wall second is ten AWS seconds. Every
// component that waits or ticks takes a Clock and speaks AWS durations; the
// clock turns them into wall durations. Requests themselves stay real.
//
// Scaled is the clock a run uses; Fake is the clock tests use, advanced by
// hand so that no test sleeps for luck.
package clock
