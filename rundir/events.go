package rundir

import (
	"fmt"

	"github.com/simplydone/lab/events"
)

// The events that frame a run's journal (events.jsonl): the run starting
// and stopping, and the phases of its load. They live here, beside the
// run directory's other files, so that the report can read them without
// importing the lab that publishes them.

// RunStarted and RunStopped frame a run in the journal.
type RunStarted struct {
	RunID string  `json:"run_id"`
	Stack string  `json:"stack"`
	Speed float64 `json:"speed"`
	Dir   string  `json:"dir"`
}

func (RunStarted) Kind() string { return "lab" }
func (e RunStarted) Message() string {
	return fmt.Sprintf("Run %s: stack %s at speed %gx, evidence in %s", e.RunID, e.Stack, e.Speed, e.Dir)
}

type RunStopped struct {
	RunID string `json:"run_id"`
}

func (RunStopped) Kind() string { return "lab" }
func (e RunStopped) Message() string {
	return fmt.Sprintf("Run %s stopped; every instance terminated", e.RunID)
}

// PhaseChanged marks the load profile's phases in the journal and on the console.
type PhaseChanged struct {
	Phase string `json:"phase"`
	Note  string `json:"note,omitempty"`
}

func (PhaseChanged) Kind() string { return "load" }
func (e PhaseChanged) Message() string {
	if e.Note != "" {
		return fmt.Sprintf("Phase %s: %s", e.Phase, e.Note)
	}
	return "Phase " + e.Phase
}

func init() {
	events.Register(RunStarted{}, RunStopped{}, PhaseChanged{})
}
