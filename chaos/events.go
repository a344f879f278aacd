package chaos

import (
	"fmt"
	"slices"
)

// FaultInjected is published before a fault acts.
// Instance is empty for faults that act on no one instance: http-error and
// latency (at the load balancer; Zone empty means every zone) and az-outage
// (Instances lists what it stops).
type FaultInjected struct {
	N         int      `json:"n"`
	By        string   `json:"by,omitempty"` // "hand": injected by a person, not the timeline
	Action    string   `json:"action"`
	Instance  string   `json:"instance"`
	Zone      string   `json:"zone"`
	Duration  string   `json:"duration,omitempty"`
	Instances []string `json:"instances,omitempty"`
	Detail    string   `json:"detail,omitempty"`
}

func (FaultInjected) Kind() string { return "chaos" }
func (e FaultInjected) Message() string {
	switch {
	case e.Instance != "":
		return fmt.Sprintf("Chaos #%d: %s on %s (%s)", e.N, e.Action, e.Instance, e.Zone)
	case slices.Contains(DBKinds, e.Action) && e.Duration != "":
		return fmt.Sprintf("Chaos #%d: %s for %s: %s", e.N, e.Action, e.Duration, e.Detail)
	case slices.Contains(DBKinds, e.Action):
		return fmt.Sprintf("Chaos #%d: %s: %s", e.N, e.Action, e.Detail)
	case slices.Contains(RequestKinds, e.Action):
		return fmt.Sprintf("Chaos #%d: %s at the load balancer, targets in %s, for %s: %s", e.N, e.Action, allZones(e.Zone), e.Duration, e.Detail)
	default:
		return fmt.Sprintf("Chaos #%d: %s in %s for %s: %s", e.N, e.Action, e.Zone, e.Duration, e.Detail)
	}
}

func allZones(zone string) string {
	if zone == "" {
		return "all zones"
	}
	return zone
}

// FaultReverted is published when a fault is undone (or has nothing to
// undo). Open is set when the revert failed: the fault may still be in
// effect, and the journal keeps it outstanding so that `lab down` tries again.
type FaultReverted struct {
	N        int    `json:"n"`
	Action   string `json:"action"`
	Instance string `json:"instance"`
	Note     string `json:"note"`
	Open     bool   `json:"open,omitempty"`
}

func (FaultReverted) Kind() string { return "chaos" }
func (e FaultReverted) Message() string {
	if e.Instance == "" {
		return fmt.Sprintf("Chaos #%d: %s: %s", e.N, e.Action, e.Note)
	}
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

// FaultProgress is a step within a fault in effect: what it was seen to do,
// or part of it ending early (az-outage's blackhole).
type FaultProgress struct {
	N      int    `json:"n"`
	Action string `json:"action"`
	Note   string `json:"note"`
}

func (FaultProgress) Kind() string { return "chaos" }
func (e FaultProgress) Message() string {
	return fmt.Sprintf("Chaos #%d: %s: %s", e.N, e.Action, e.Note)
}

// EventHeld is published when an event the timeline waits for first holds.
type EventHeld struct {
	Expr     string  `json:"expr"`
	Observed float64 `json:"observed"`
}

func (EventHeld) Kind() string { return "chaos" }
func (e EventHeld) Message() string {
	return fmt.Sprintf("Chaos: %s holds now (observed %g); the actions after it start", e.Expr, e.Observed)
}
