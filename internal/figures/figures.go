// Package figures names the numbers a run relies on that AWS does not
// document: what the lab observed, assumed or chose where AWS is silent.
// The parts that hold such a number list it; the run writes the list to
// summary.json and the report shows it, so that a PASS says what it stands on.
package figures

// Kind says where a figure comes from.
type Kind string

// Kinds of figure.
const (
	// Observed: measured by others on AWS (a blog post, a benchmark); AWS
	// publishes no number.
	Observed Kind = "observed"
	// Assumed: no measurement either; the lab's best reading, stated.
	Assumed Kind = "assumed"
	// Setting: the stack sets it, over the lab's observed or assumed default.
	Setting Kind = "setting"
)

// Figure is one number the run relied on.
type Figure struct {
	Name   string `json:"name"`   // what it is, in AWS's words
	Value  string `json:"value"`  // as the run used it: "2m0s", "0.7 × target"
	Kind   Kind   `json:"kind"`   // observed, assumed or setting
	Source string `json:"source"` // where it comes from: a page, or the reasoning
}
