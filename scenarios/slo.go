package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/internal/yamlcheck"
)

// The metrics an SLO or a stop condition can test. Percentages are 0-100,
// latencies are in milliseconds (see Millis), counts are plain numbers.
const (
	SuccessRate        = "success_rate"         // % of requests answered without a 5xx or a transport error
	ErrorRate          = "error_rate"           // 100 - success_rate
	P50                = "p50"                  // median latency, ms
	P95                = "p95"                  // 95th percentile latency, ms
	P99                = "p99"                  // 99th percentile latency, ms
	MaxLatency         = "max_latency"          // slowest request, ms
	MaxInService       = "max_in_service"       // most instances InService at once
	MinInService       = "min_in_service"       // fewest instances InService at once (after the first is)
	LostWrites         = "lost_writes"          // acknowledged writes missing at the end
	LostSessionState   = "lost_session_state"   // cart reads that missed an item their user was acknowledged
	StaleReads         = "stale_reads"          // gets after an acknowledged create that did not see it
	DBErrorWindow      = "db_error_window"      // the longest outage (seconds in which most requests failed) over a database failover, AWS time (ms; write s)
	Requests           = "requests"             // requests sent
	ScaleOutActivities = "scale_out_activities" // scaling activities that raised desired capacity
	ScaleInActivities  = "scale_in_activities"  // scaling activities that lowered it
)

type kind int

const (
	percent kind = iota
	latency
	count
)

var metricKinds = map[string]kind{
	SuccessRate: percent, ErrorRate: percent,
	P50: latency, P95: latency, P99: latency, MaxLatency: latency, DBErrorWindow: latency,
	MaxInService: count, MinInService: count, LostWrites: count, LostSessionState: count, StaleReads: count, Requests: count,
	ScaleOutActivities: count, ScaleInActivities: count,
}

// Metrics lists the metric names, in the order the docs give them.
func Metrics() []string {
	return []string{SuccessRate, ErrorRate, P50, P95, P99, MaxLatency, MaxInService, MinInService,
		LostWrites, LostSessionState, StaleReads, Requests, ScaleOutActivities, ScaleInActivities, DBErrorWindow}
}

var operators = compare.Symbols() // >=, >, <=, <, ==

// SLO is one expression METRIC OP VALUE[UNIT], as in p99 <= 500ms.
type SLO struct {
	Expr      string     // as written
	Metric    string     // one of Metrics()
	Op        compare.Op // >=, >, <=, <, ==
	Threshold float64    // in the metric's unit: %, ms or a count (1s is 1000)
	Unit      string     // as written: "%", "ms", "s" or ""
	// For (stop conditions only) is how long, in AWS time, the condition
	// must hold without a break before it stops the run: "error_rate > 50%
	// for 1m". 0: as soon as it holds.
	For time.Duration
}

// Millis turns a latency into the unit latency SLOs are checked in.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var number = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`)

// ParseSLO reads METRIC OP VALUE[UNIT]. Its errors say what is wrong and
// what is allowed, without a position (Parse adds it).
func ParseSLO(expr string) (SLO, error) {
	e := strings.TrimSpace(expr)
	notName := func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}
	i := strings.IndexFunc(e, notName)
	if i < 0 {
		i = len(e)
	}
	metric, rest := e[:i], strings.TrimSpace(e[i:])
	if metric == "" {
		return SLO{}, fmt.Errorf("%q does not start with a metric; write METRIC OP VALUE, as in p99 <= 500ms", e)
	}
	k, ok := metricKinds[metric]
	if !ok {
		msg := fmt.Sprintf("%q is not a metric; use one of %s", metric, strings.Join(Metrics(), ", "))
		if c := yamlcheck.Closest(metric, Metrics()); c != "" {
			msg += "; did you mean " + c + "?"
		}
		return SLO{}, fmt.Errorf("%s", msg)
	}
	j := strings.IndexFunc(rest, func(r rune) bool { return !strings.ContainsRune("<>=!", r) })
	if j < 0 {
		j = len(rest)
	}
	op, value := rest[:j], strings.TrimSpace(rest[j:])
	switch {
	case op == "":
		return SLO{}, fmt.Errorf("no operator after %s; write METRIC OP VALUE with OP one of %s, as in %s", metric, strings.Join(operators, " "), example(metric, k))
	case !compare.Op(op).Valid():
		msg := fmt.Sprintf("%q is not an operator; use one of %s", op, strings.Join(operators, " "))
		if hint := map[string]string{"=": "==", "=>": ">=", "=<": "<="}[op]; hint != "" {
			msg += "; did you mean " + hint + "?"
		}
		return SLO{}, fmt.Errorf("%s", msg)
	case value == "":
		return SLO{}, fmt.Errorf("no value after %s %s; write METRIC OP VALUE, as in %s", metric, op, example(metric, k))
	}
	num := number.FindString(value)
	unit := strings.TrimSpace(value[len(num):])
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || math.IsInf(v, 0) {
		return SLO{}, fmt.Errorf("%q is not a number; write METRIC OP VALUE, as in %s", value, example(metric, k))
	}
	threshold, err := checkValue(metric, k, v, num, unit)
	if err != nil {
		return SLO{}, err
	}
	return SLO{Expr: e, Metric: metric, Op: compare.Op(op), Threshold: threshold, Unit: unit}, nil
}

// checkValue checks a value's unit and range for the metric and returns it
// in the metric's unit.
func checkValue(metric string, k kind, v float64, num, unit string) (float64, error) {
	switch k {
	case percent:
		switch {
		case unit == "":
			return 0, fmt.Errorf("%s has no unit; %s is a percentage: write %s%%", num, metric, num)
		case unit != "%":
			return 0, fmt.Errorf("%q is not a unit for %s; it is a percentage: use %%, as in %s", unit, metric, example(metric, k))
		case v < 0 || v > 100:
			return 0, fmt.Errorf("%s%% is not a percentage; use 0%% to 100%%", num)
		}
		return v, nil
	case latency:
		switch {
		case unit == "":
			return 0, fmt.Errorf("%s has no unit; %s is a latency: use ms or s, as in %s", num, metric, example(metric, k))
		case unit != "ms" && unit != "s":
			return 0, fmt.Errorf("%q is not a unit for %s; it is a latency: use ms or s, as in %s", unit, metric, example(metric, k))
		case v < 0:
			return 0, fmt.Errorf("%s%s is negative; a latency is 0 or more", num, unit)
		case unit == "s":
			return v * 1000, nil
		}
		return v, nil
	default:
		switch {
		case unit != "":
			return 0, fmt.Errorf("%q is not a unit for %s; it is a count: write a plain number, as in %s", unit, metric, example(metric, k))
		case v != math.Trunc(v):
			return 0, fmt.Errorf("%s is not a whole number; %s is a count", num, metric)
		case v < 0:
			return 0, fmt.Errorf("%s is negative; %s is a count, 0 or more", num, metric)
		}
		return v, nil
	}
}

// example is a well-formed expression for the metric.
func example(metric string, k kind) string {
	switch k {
	case percent:
		return metric + " >= 99.5%"
	case latency:
		return metric + " <= 500ms"
	}
	return metric + " <= 6"
}

// Check tests the observed value (in the metric's unit: %, ms or a count)
// against the SLO. margin is how far observed is from the threshold in the
// passing direction: positive passes with room to spare, negative fails by
// that much; for == it is 0 when passing and minus the distance otherwise.
// A NaN observation (no data) fails.
func (s SLO) Check(observed float64) (pass bool, margin float64) {
	t := s.Threshold
	switch {
	case s.Op.Above():
		return s.Op.Compare(observed, t), observed - t
	case s.Op.Below():
		return s.Op.Compare(observed, t), t - observed
	case s.Op == compare.Equal:
		if observed == t {
			return true, 0
		}
		return false, -math.Abs(observed - t)
	}
	return false, math.NaN()
}

// Format writes a value of the SLO's metric for people: 99.87%, 412ms,
// 1.25s, 6. It suits margins too (-88ms).
func (s SLO) Format(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	switch metricKinds[s.Metric] {
	case percent:
		return round(v, 2) + "%"
	case latency:
		switch a := math.Abs(v); {
		case a >= 1000:
			return round(v/1000, 2) + "s"
		case a >= 10:
			return round(v, 0) + "ms"
		default:
			return round(v, 1) + "ms"
		}
	}
	return round(v, 2)
}

// FormatMargin writes a margin (Check's) in the metric's own unit, signed:
// "+30s" for a window 30 s under its bound, "+4.99%" for percentage points.
func (s SLO) FormatMargin(m float64) string {
	if math.IsNaN(m) {
		return "n/a"
	}
	sign := "+"
	if m < 0 {
		sign = "-"
	}
	return sign + s.Format(math.Abs(m))
}

// round writes v with at most digits decimals, dropping trailing zeros.
func round(v float64, digits int) string {
	p := math.Pow(10, float64(digits))
	r := math.Round(v*p) / p
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}
