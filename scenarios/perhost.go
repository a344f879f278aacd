package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/stack"
)

// Per-host stores (issue 20): a zone on an agent's host runs its instances
// there, and SimplyDone's store is the run's data directory on that host,
// so each host keeps a store of its own. A write acknowledged by an
// instance on one host is not in the others', and the lab's end-of-run
// check (a get through the load balancer for every acknowledged create),
// like the gets the load sends after an acknowledgement, may land on
// another host: what it would count as lost or stale was never in that
// store. Those figures are not measured on such a stack; an SLO on them is
// refused at validation, as an SLO that cannot be judged.

// NotPerHost are the metrics a stack with per-host stores cannot measure.
var NotPerHost = []string{LostWrites, StaleReads}

// PerHostStores says why acknowledged writes cannot be checked on st (its
// zones on agents' hosts keep a SimplyDone store each), or "". A stack
// with a database has one store, the data tier, whichever host its
// instances run on: its writes are checked. So do agents in the
// controller's process (stack.Stack.AgentsInProcess): one host, one store.
func PerHostStores(st *stack.Stack) string {
	if st == nil || !st.HasAgents() || st.Database != nil || st.AgentsInProcess {
		return ""
	}
	var on []string
	for _, z := range st.Zones {
		if a := st.ZoneAgent(z); a != "" {
			on = append(on, z+" on agent "+a)
		}
	}
	return fmt.Sprintf("zones run on other hosts (%s), each keeping its own SimplyDone store: a write acknowledged on one host is not found through another",
		strings.Join(on, ", "))
}

// UnmeasuredSLO is an SLO of a scenario its stack cannot measure.
type UnmeasuredSLO struct {
	Index int // in Scenario.SLOs (slos[Index] in the file)
	SLO   SLO
	Why   string
}

// Message is the problem as a validation error's text.
func (u UnmeasuredSLO) Message(stackName string) string {
	return fmt.Sprintf("%q cannot be judged with stack %s: writes are not checked across hosts: %s; remove this SLO, give the stack a database (one store for every host), or run every zone on this host (no agent: in the stack's zones:)",
		u.SLO.Expr, stackName, u.Why)
}

// UnmeasuredOn is every SLO of s that st cannot measure.
func (s *Scenario) UnmeasuredOn(st *stack.Stack) []UnmeasuredSLO {
	why := PerHostStores(st)
	if why == "" {
		return nil
	}
	var out []UnmeasuredSLO
	for i, slo := range s.SLOs {
		if slices.Contains(NotPerHost, slo.Metric) {
			out = append(out, UnmeasuredSLO{Index: i, SLO: slo, Why: why})
		}
	}
	return out
}

// validatePerHost refuses SLOs the scenario's stack cannot measure, at
// their place in the file. The stack is resolved only when an SLO needs it.
func (p parser) validatePerHost(s *Scenario) {
	if !p.Has("slos") || p.anyBad("slos") || p.Bad("stack") {
		return // indexes in SLOs would not match the file's; the file has problems already
	}
	if !slices.ContainsFunc(s.SLOs, func(slo SLO) bool { return slices.Contains(NotPerHost, slo.Metric) }) {
		return
	}
	st, err := s.ResolveStack()
	if err != nil {
		return // the stack's own problem is reported where it is used
	}
	for _, u := range s.UnmeasuredOn(st) {
		p.Errf(yamlcheck.Index("slos", u.Index), "%s", u.Message(s.Stack))
	}
}
