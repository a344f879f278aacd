package cloudwatch

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Reason kinds.
const (
	ReasonThresholdCrossed = "ThresholdCrossed"
	ReasonInsufficientData = "InsufficientData"
	ReasonRetained         = "Retained" // ignore kept the current state
)

// Reason explains an evaluation: Text in AWS's words, and the numbers
// behind it for a TUI to lay out.
type Reason struct {
	Kind       string  `json:"kind"`
	Text       string  `json:"text"`
	Evaluated  int     `json:"evaluated"`            // N, datapoints evaluated
	Received   int     `json:"received"`             // real datapoints among them
	Datapoints []Point `json:"datapoints,omitempty"` // the cited real datapoints, newest first
	Comparison string  `json:"comparison,omitempty"` // "greater than", "not greater than", ...
	Threshold  float64 `json:"threshold"`
	Minimum    int     `json:"minimum,omitempty"`    // datapoints needed for Transition
	Transition string  `json:"transition,omitempty"` // "OK -> ALARM" or "ALARM -> OK"
	Missing    int     `json:"missing,omitempty"`    // missing datapoints filled or unknown
	TreatedAs  string  `json:"treatedAs,omitempty"`  // "Breaching" or "NonBreaching" for filled ones
}

func (r Reason) String() string { return r.Text }

// thresholdText writes
// "Threshold Crossed: 1 out of the last 1 datapoints [86.2 (22/11/26 03:05:00)] was greater than
// the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition)."
// countFill says whether the filled missing datapoints count toward it.
func (r Reason) thresholdText(countFill bool) string {
	var b strings.Builder
	b.WriteString("Threshold Crossed: ")
	filled := fmt.Sprintf("%d missing %s %s treated as [%s]", r.Missing, plural(r.Missing, "datapoint"), wasWere(r.Missing), r.TreatedAs)
	switch {
	case r.Received == 0:
		fmt.Fprintf(&b, "no datapoints were received for %d %s and %s.", r.Missing, plural(r.Missing, "period"), filled)
		return b.String()
	case len(r.Datapoints) == 0 && countFill:
		b.WriteString(filled)
	case len(r.Datapoints) == 0:
		fmt.Fprintf(&b, "no datapoints were %s the threshold (%s)", r.Comparison, FormatNumber(r.Threshold))
	default:
		fmt.Fprintf(&b, "%d out of the last %d datapoints [%s] %s %s the threshold (%s)",
			len(r.Datapoints), r.Evaluated, citeList(r.Datapoints), wasWere(len(r.Datapoints)), r.Comparison, FormatNumber(r.Threshold))
		if countFill {
			b.WriteString(" and " + filled)
		}
	}
	fmt.Fprintf(&b, " (minimum %d %s for %s transition).", r.Minimum, plural(r.Minimum, "datapoint"), r.Transition)
	return b.String()
}

func insufficient(unknown int) Reason {
	return Reason{
		Kind:    ReasonInsufficientData,
		Text:    fmt.Sprintf("Insufficient Data: %d %s %s unknown.", unknown, plural(unknown, "datapoint"), wasWere(unknown)),
		Missing: unknown,
	}
}

func retained(prev State, unknown int) Reason {
	r := insufficient(unknown)
	r.Kind = ReasonRetained
	r.Text = fmt.Sprintf("Missing data ignored: %d %s %s unknown, so the alarm stays %s.", unknown, plural(unknown, "datapoint"), wasWere(unknown), prev)
	return r
}

// citeList writes "86.2 (22/11/26 03:05:00), 90.0 (22/11/26 03:04:00)".
func citeList(ps []Point) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = FormatNumber(p.Value) + " (" + FormatTime(p.Time) + ")"
	}
	return strings.Join(parts, ", ")
}

// FormatTime writes a datapoint time as AWS reasons do: dd/MM/yy HH:mm:ss, UTC.
func FormatTime(t time.Time) string { return t.UTC().Format("02/01/06 15:04:05") }

// FormatNumber writes a value as AWS reasons do (Java's Double.toString):
// 80.0, 86.2, 5.535714886726143, 1.0E7.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-3 || a >= 1e7) {
		s := strconv.FormatFloat(v, 'E', -1, 64)
		mant, exp, _ := strings.Cut(s, "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		e, _ := strconv.Atoi(exp)
		return mant + "E" + strconv.Itoa(e)
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}
