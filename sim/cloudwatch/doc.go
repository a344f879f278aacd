// Package cloudwatch is the lab's CloudWatch: a bounded in-memory metric
// store that aggregates raw samples into period datapoints as CloudWatch
// does, and metric alarms that follow AWS's rules for M-out-of-N
// evaluation and missing data, explained in AWS's own reason strings.
//
// The pure step is Evaluate; Service is the thin loop around it that
// evaluates every alarm once per AWS minute (or once per period for 10 s
// and 30 s high-resolution alarms) and tells subscribers.
package cloudwatch
