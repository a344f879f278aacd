package report

import (
	"encoding/json"
)

// Event payloads the report reads.
type (
	evScaling struct {
		Instance, Zone, Action, Description, Cause string
	}
	evDesired struct {
		From, To      int
		Policy, Alarm string
		Value         float64 `json:"metric_value"`
	}
	evLifecycle struct{ Instance, Zone, From, To string }
	evAlarm     struct{ Alarm, From, To string }
	evFault     struct {
		N                            int
		Action, Instance, Zone, Note string
		Duration                     string
	}
	evPhase struct{ Phase, Note string }
)

func decode[T any](e Event) T {
	var v T
	json.Unmarshal(e.Event, &v)
	return v
}
