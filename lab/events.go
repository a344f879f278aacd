package lab

import "github.com/simplydone/lab/rundir"

// RunStarted, RunStopped and PhaseChanged frame a run in the journal; they
// are defined in rundir so that the report can decode them (report cannot
// import lab, which imports report).
type (
	RunStarted   = rundir.RunStarted
	RunStopped   = rundir.RunStopped
	PhaseChanged = rundir.PhaseChanged
)
