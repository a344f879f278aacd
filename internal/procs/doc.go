// Package procs sets how many cores the lab's own Go code runs on
// (GOMAXPROCS) from what the lab's process uses, while `lab run`, `lab up`
// or `lab agent` lasts.
//
// Why: the lab's process (the load generator, the load balancer's nodes,
// DNS, metrics, the journal) is mostly idle between requests at the rates a
// lab runs, and on a small virtual machine waking an idle core costs more
// CPU than the work it carries. With two Ps, Go's scheduler wakes a thread
// for the idle P when a goroutine becomes runnable, and it spins looking for
// work before it sleeps. At 2,000 requests a second the lab's process used
// about 1.25 times the CPU on two Ps that it used on one, for the same
// requests (bench/flashsale.sh's cost stage; docs/lab-cost.md). That CPU is
// taken from the instances the lab is meant to measure.
//
// The rule (Policy): the process runs on one P while it uses less than Up of
// a core per P; above that it gets twice as many, up to the host's cores,
// at once; it goes back one P at a time only after Calm intervals in a row
// in which it used less than Down of a core per P it would keep. A lab that
// gets busy doubles its Ps every interval (a quarter of a second) until
// they suffice or it has the host's cores; one that calms down gives them
// back one every two seconds.
//
// A GOMAXPROCS environment variable is the user's choice: the governor
// then changes nothing.
package procs
