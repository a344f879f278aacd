package alb

import "fmt"

// TargetHealthChanged is published when a node's view of a target changes state.
type TargetHealthChanged struct {
	Node        string `json:"node"` // the zone of the node that saw it
	Target      string `json:"target"`
	Zone        string `json:"zone"`
	Addr        string `json:"addr"`
	From        State  `json:"from"`
	To          State  `json:"to"`
	Reason      Reason `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

func (TargetHealthChanged) Kind() string { return "target-health" }

func (e TargetHealthChanged) Message() string {
	m := fmt.Sprintf("node %s: target %s (%s, %s) %s -> %s", e.Node, e.Target, e.Addr, e.Zone, e.From, e.To)
	if e.From == e.To {
		m = fmt.Sprintf("node %s: target %s (%s, %s) %s", e.Node, e.Target, e.Addr, e.Zone, e.To)
	}
	if e.Reason != ReasonNone {
		m += fmt.Sprintf(" (%s: %s)", e.Reason, e.Description)
	}
	return m
}

// TargetRegistered is published when a target joins the target group.
type TargetRegistered struct {
	Target string `json:"target"`
	Zone   string `json:"zone"`
	Addr   string `json:"addr"`
	// TargetGroup is the target group, on a load balancer with several
	// (groups.go); empty with one.
	TargetGroup string `json:"target_group,omitempty"`
}

func (TargetRegistered) Kind() string { return "lb" }
func (e TargetRegistered) Message() string {
	if e.TargetGroup != "" {
		return fmt.Sprintf("Registered target %s (%s) in %s, target group %s", e.Target, e.Addr, e.Zone, e.TargetGroup)
	}
	return fmt.Sprintf("Registered target %s (%s) in %s", e.Target, e.Addr, e.Zone)
}

// TargetDeregistered is published when deregistration starts (Drained false)
// and when the delay has ended and the target has left (Drained true).
type TargetDeregistered struct {
	Target  string `json:"target"`
	Zone    string `json:"zone"`
	Drained bool   `json:"drained"`
}

func (TargetDeregistered) Kind() string { return "lb" }
func (e TargetDeregistered) Message() string {
	if e.Drained {
		return fmt.Sprintf("Deregistration delay ended: target %s (%s) is unused (Target.NotRegistered)", e.Target, e.Zone)
	}
	return fmt.Sprintf("Deregistering target %s (%s): draining (Target.DeregistrationInProgress)", e.Target, e.Zone)
}

// NodeListening is published when a node starts accepting connections.
type NodeListening struct {
	Zone string `json:"zone"`
	URL  string `json:"url"`
}

func (NodeListening) Kind() string { return "lb" }
func (e NodeListening) Message() string {
	return fmt.Sprintf("Load balancer node in %s listening on %s", e.Zone, e.URL)
}
