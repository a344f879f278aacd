package lab

import (
	"fmt"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// Writes with per-host stores (issue 20): with zones on agents' hosts each
// host keeps its own SimplyDone store (scenarios.PerHostStores), so the
// end-of-run check of acknowledged writes and the reads after them would
// count what another host acknowledged as lost or stale. The run does not
// check them: the summary and the report say why instead of counting, and
// an SLO on lost_writes or stale_reads is refused (scenario validation,
// and here for a stack given apart from the scenario's file).

// refuseUnmeasured refuses a scenario whose SLOs its stack cannot measure.
func refuseUnmeasured(sc *scenarios.Scenario, st *stack.Stack) error {
	un := sc.UnmeasuredOn(st)
	if len(un) == 0 {
		return nil
	}
	u := un[0]
	return &PreflightError{Err: fmt.Errorf("%s: slos[%d]: %s", sc.File, u.Index, u.Message(st.Name))}
}

// notCheckedAcrossHosts records in sum that writes were not checked, and
// why; the counts of a check that did not happen are zero (lost_writes
// keeps only the creates answered with another write's title: that answer
// is wrong whatever store it came from).
func notCheckedAcrossHosts(sum *Summary, why string) {
	if why == "" {
		return
	}
	sum.WritesNotChecked = why
	sum.CheckedReads, sum.StaleReads = 0, 0
}
