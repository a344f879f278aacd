package lab

import "github.com/simplydone/lab/rundir"

// The run's records, as the run directory keeps them (see package rundir).
type (
	Summary      = rundir.Summary
	SLOResult    = rundir.SLOResult
	Latency      = rundir.Latency
	ErrorClasses = rundir.ErrorClasses
	InService    = rundir.InService
	MinMax       = rundir.MinMax
	Scaling      = rundir.Scaling
	Faults       = rundir.Faults
	SecondRecord = rundir.Second
)

// Verdicts.
const (
	Pass        = rundir.Pass
	Fail        = rundir.Fail
	Invalid     = rundir.Invalid
	Interrupted = rundir.Interrupted
)
