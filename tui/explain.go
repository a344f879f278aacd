package tui

import (
	"fmt"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/termtext"
	"github.com/simplydone/lab/lab"
)

// explain says why an event happened, as lines of plain text: for alarms
// the evaluation's numbers and rule, for scaling the activity's cause, for
// target health the reason code.
func explain(e Entry) []string {
	if e.Event == nil && len(e.Why) > 0 {
		return termtext.Lines(e.Why) // from the live socket
	}
	out := []string{e.Text, ""}
	switch ev := e.Event.(type) {
	case chaos.FaultInjected:
		from := "from the scenario's chaos timeline"
		if e.Manual {
			from = "by hand (k or z in the live view)"
		}
		out = append(out, fmt.Sprintf("Fault #%d %s: %s on %s in %s.", ev.N, from, ev.Action, ev.Instance, ev.Zone),
			"It is journalled in chaos.jsonl before it acts, and reverted at the end or on q / Ctrl-C.")
	case chaos.FaultReverted:
		out = append(out, fmt.Sprintf("Fault #%d (%s on %s) reverted: %s", ev.N, ev.Action, ev.Instance, ev.Note))
	case lab.PhaseChanged:
		out = append(out, "The load generator moved to phase "+ev.Phase+".", ev.Note)
	case lab.Note, nil:
		out = append(out, "A note from the lab.")
	default:
		if why, ok := lab.Explain(ev); ok { // the AWS parts' events
			out = append(out, why...)
			break
		}
		out = append(out, fmt.Sprintf("%T", ev))
	}
	return termtext.Lines(out)
}
