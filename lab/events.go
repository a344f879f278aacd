package lab

import "fmt"

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
