package rds

import (
	"fmt"
	"time"

	"github.com/simplydone/lab/events"
)

func init() { events.Register(RDSEvent{}, FailoverStep{}) }

// RDSEvent is an RDS event as DescribeEvents lists it: its source, category
// and message in RDS's words (the cluster's failover events carry RDS's
// event ids; where the lab's message is its own, Own says so).
type RDSEvent struct {
	SourceType string `json:"source_type"` // db-instance or db-cluster
	SourceID   string `json:"source_id"`
	EventID    string `json:"event_id,omitempty"`
	Category   string `json:"category"` // failover, availability, recovery, read replica
	Text       string `json:"message"`
	Zone       string `json:"zone,omitempty"` // where the DB instance it names is
	// Own marks a message in the lab's words, for a step RDS reports in
	// words the lab does not know.
	Own bool `json:"own,omitempty"`
}

func (RDSEvent) Kind() string { return "database" }

func (e RDSEvent) Message() string {
	src := "DB instance"
	if e.SourceType == "db-cluster" {
		src = "DB cluster"
	}
	return fmt.Sprintf("%s %s: %s", src, e.SourceID, e.Text)
}

// FailoverStep is one step of a failover (or a replica's promotion) as the
// lab took it: detected, fenced, promoted, endpoint moved, standby
// rebuilt. At is the AWS seconds since the failure (the primary found
// stopped, killed, or first failing its checks; a reboot with failover:
// the request), from which RDS's failover time counts.
type FailoverStep struct {
	DB     string  `json:"db"`
	Step   string  `json:"step"`
	Server string  `json:"server,omitempty"`
	Zone   string  `json:"zone,omitempty"`
	Detail string  `json:"detail,omitempty"`
	At     float64 `json:"at_seconds"`
	// Documented is, on the endpoint's move of a Multi-AZ failover, RDS's
	// documented failover time the lab holds it to (AWS s: 90 for a DB
	// instance, 35 for a DB cluster); 0 on other steps and on a read
	// replica's promotion, for which RDS documents none. At past it is the
	// lab's own time at the run's speed, not RDS's (Overrun).
	Documented float64 `json:"documented_seconds,omitempty"`
	// Overran says, when the endpoint moved past Documented, why: the lab's
	// own steps' wall time at the run's speed.
	Overran string `json:"overran,omitempty"`
	// Promotion marks the steps of a read replica's promotion
	// (PromoteReadReplica), which is not a failover: its source keeps its
	// endpoint.
	Promotion bool `json:"promotion,omitempty"`
}

// OverrunSlack is how far (AWS time) past RDS's documented failover time
// the endpoint may move before the failover counts as run over: the
// timer's own lateness on a busy host.
const OverrunSlack = time.Second

// Overrun is how far past RDS's documented time the endpoint moved (AWS
// s), 0 when within OverrunSlack of it or with no documented time.
func (e FailoverStep) Overrun() float64 {
	if e.Documented <= 0 || e.At <= e.Documented+OverrunSlack.Seconds() {
		return 0
	}
	return e.At - e.Documented
}

// Failover steps.
const (
	StepDetected = "detected"
	StepRechosen = "target chosen again" // a cluster failover's target, chosen again once the primary is fenced: the same failover
	StepFenced   = "fenced"
	StepPromoted = "promoted"
	StepMoved    = "endpoint moved"
	StepRebuilt  = "standby rebuilt"
	StepRestart  = "restarted"
	StepReplaced = "replaced" // a server that could not follow the new primary, built again from it
	StepFailed   = "failed"   // the failover ended without a promotion
)

func (FailoverStep) Kind() string { return "database" }

func (e FailoverStep) Message() string {
	m := fmt.Sprintf("Failover of %s: %s", e.DB, e.Step)
	if e.Server != "" {
		m += " " + e.Server
		if e.Zone != "" {
			m += " (" + e.Zone + ")"
		}
	}
	if e.Detail != "" {
		m += ": " + e.Detail
	}
	m += fmt.Sprintf(" at %.1f s", e.At)
	if e.Overran != "" {
		m += "; " + e.Overran
	}
	return m
}
