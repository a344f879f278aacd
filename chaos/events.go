package chaos

import "fmt"

// FaultInjected is published before a fault acts.
type FaultInjected struct {
	N        int    `json:"n"`
	Action   string `json:"action"`
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
	Duration string `json:"duration,omitempty"`
}

func (FaultInjected) Kind() string { return "chaos" }
func (e FaultInjected) Message() string {
	return fmt.Sprintf("Chaos #%d: %s on %s (%s)", e.N, e.Action, e.Instance, e.Zone)
}

// FaultReverted is published when a fault is undone (or has nothing to undo).
type FaultReverted struct {
	N        int    `json:"n"`
	Action   string `json:"action"`
	Instance string `json:"instance"`
	Note     string `json:"note"`
}

func (FaultReverted) Kind() string { return "chaos" }
func (e FaultReverted) Message() string {
	return fmt.Sprintf("Chaos #%d: %s on %s: %s", e.N, e.Action, e.Instance, e.Note)
}

// FaultNotApplied is published when an action found nothing to act on.
type FaultNotApplied struct {
	Action string `json:"action"`
	Zone   string `json:"zone,omitempty"`
	Reason string `json:"reason"`
}

func (FaultNotApplied) Kind() string { return "chaos" }
func (e FaultNotApplied) Message() string {
	return fmt.Sprintf("Chaos: %s not applied: %s", e.Action, e.Reason)
}
