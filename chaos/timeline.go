package chaos

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/compare"
)

// Step is one fault on the resolved timeline: an Action at its own time
// (from the start of the load, or from when After first holds). N is its
// place in the timeline, from 1; it is also the draw that makes its random
// choices, so a step chooses the same way whatever happened before it.
type Step struct {
	Action
	N int
}

// Expand resolves actions into the timeline's steps with the seed: each
// repetition of an action repeated Every (± EveryJitter) becomes a step,
// and a monkey becomes its kill-instance steps, the gaps between them drawn
// from an exponential distribution with its MeanGap, never below MinGap.
// until bounds open-ended repetitions and monkeys (the end of the load); 0
// means unknown: an action repeated Every with no Repeat then happens once.
func Expand(actions []Action, seed uint64, until time.Duration) []Step {
	rng := rand.New(rand.NewPCG(seed, 0x74696d65)) // "time": its own stream
	var out []Step
	for _, a := range actions {
		switch {
		case a.Kind == Monkey:
			end := a.At + a.Duration
			if a.Duration <= 0 {
				end = until
			}
			if until > 0 && a.After == "" {
				end = min(end, until)
			}
			kill := a
			kill.Kind, kill.Duration, kill.MeanGap, kill.MinGap = KillInstance, 0, 0, 0
			for t := a.At; ; {
				gap := max(time.Duration(-float64(a.MeanGap)*math.Log(1-rng.Float64())), a.MinGap)
				t += gap.Round(time.Second)
				if gap <= 0 || t >= end {
					break
				}
				kill.At = t
				out = append(out, Step{Action: kill})
			}
		case a.Every > 0:
			t := a.At
			for i := 0; ; i++ {
				if (a.Repeat > 0 && i >= a.Repeat) || (a.Repeat == 0 && until <= 0 && i >= 1) || (until > 0 && t >= until) {
					break
				}
				s := a
				s.At = t
				out = append(out, Step{Action: s})
				next := a.Every
				if a.EveryJitter > 0 {
					next += time.Duration(rng.Int64N(int64(2*a.EveryJitter)+1)) - a.EveryJitter
				}
				t += max(next, time.Second).Round(time.Second)
			}
		default:
			out = append(out, Step{Action: a})
		}
	}
	slices.SortStableFunc(out, func(a, b Step) int {
		return cmp.Or(cmp.Compare(a.After, b.After), cmp.Compare(a.At, b.At))
	})
	for i := range out {
		out[i].N = i + 1
	}
	return out
}

// ConditionMetrics are the figures an After condition may read.
var ConditionMetrics = []string{"desired_capacity", "in_service", "running"}

// conditionOps are the operators a condition may use, longest first so that
// ">=" is not read as ">".
var conditionOps = []compare.Op{compare.GreaterOrEqual, compare.LessOrEqual, compare.Equal, compare.Greater, compare.Less}

// Condition is an event a step waits for: Metric Op Value, such as
// desired_capacity >= 4 (the group's desired capacity first reaches 4).
type Condition struct {
	Expr   string
	Metric string
	Op     compare.Op
	Value  float64
}

// ConditionError is a condition that does not parse; Col counts from 1
// within the expression.
type ConditionError struct {
	Col int
	Msg string
}

func (e *ConditionError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// ParseCondition reads "METRIC OP NUMBER".
func ParseCondition(expr string) (Condition, error) {
	c := Condition{Expr: expr}
	i := 0
	skip := func() {
		for i < len(expr) && expr[i] == ' ' {
			i++
		}
	}
	skip()
	start := i
	for i < len(expr) && (expr[i] == '_' || expr[i] >= 'a' && expr[i] <= 'z') {
		i++
	}
	c.Metric = expr[start:i]
	if !slices.Contains(ConditionMetrics, c.Metric) {
		what := fmt.Sprintf("%q is not a metric", c.Metric)
		if c.Metric == "" {
			what = "missing the metric"
		}
		return c, &ConditionError{Col: start + 1, Msg: fmt.Sprintf("%s; use one of %s, such as desired_capacity >= 4", what, strings.Join(ConditionMetrics, ", "))}
	}
	skip()
	for _, op := range conditionOps {
		if strings.HasPrefix(expr[i:], op.Symbol()) {
			c.Op = op
			break
		}
	}
	if c.Op == "" {
		return c, &ConditionError{Col: i + 1, Msg: fmt.Sprintf("want a comparison (%s) after %s", opList(conditionOps), c.Metric)}
	}
	i += len(c.Op.Symbol())
	skip()
	numAt := i
	end := len(strings.TrimRight(expr, " "))
	v, err := strconv.ParseFloat(expr[i:max(i, end)], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return c, &ConditionError{Col: numAt + 1, Msg: fmt.Sprintf("%q is not a number 0 or more", expr[i:max(i, end)])}
	}
	c.Value = v
	return c, nil
}

// Holds says whether the condition holds for v.
func (c Condition) Holds(v float64) bool { return c.Op.Compare(v, c.Value) }

// opList is ops' symbols, space-separated.
func opList(ops []compare.Op) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.Symbol()
	}
	return strings.Join(s, " ")
}
