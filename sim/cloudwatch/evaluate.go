package cloudwatch

// State is an alarm's state.
type State string

// Alarm states. A new alarm starts in INSUFFICIENT_DATA.
const (
	StateOK               State = "OK"
	StateAlarm            State = "ALARM"
	StateInsufficientData State = "INSUFFICIENT_DATA"
)

// Evaluate is one alarm evaluation, as CloudWatch documents it. points is
// the evaluation range, oldest first, one per period with gaps marked
// Missing; it may be longer than EvaluationPeriods (N) (see
// EvaluationRange), so that older real datapoints stand in for missing ones.
//
//   - At least N real datapoints in the range: the newest N real ones are
//     evaluated and the missing-data setting is not used.
//   - Fewer: breaching and notBreaching fill the gap with as few missing
//     datapoints as needed, counted as breaching or not.
//   - Fewer, with missing or ignore: ALARM if at least M real datapoints
//     breach; else OK if any real datapoint does not breach; else (only
//     breaching ones, or none) ALARM when the oldest breaching datapoint is
//     at least M periods old ("avoiding premature transitions"), and
//     otherwise INSUFFICIENT_DATA for missing, the current state for ignore.
//
// The state is ALARM when at least DatapointsToAlarm (M) of the N evaluated
// datapoints breach, and OK otherwise. cfg must be valid.
func Evaluate(cfg AlarmConfig, prev State, points []Point) (State, Reason) {
	n, m := cfg.EvaluationPeriods, cfg.datapointsToAlarm()
	cmp := cfg.comparison()
	var real []Point
	oldest := -1 // age in periods of the oldest real datapoint, newest = 1
	for i, p := range points {
		if p.Missing {
			continue
		}
		real = append(real, p)
		if oldest < 0 {
			oldest = len(points) - i
		}
	}
	if len(real) >= n {
		return crossed(cfg, real[len(real)-n:], 0, false, false)
	}
	fill := n - len(real)
	switch cfg.treatMissing() {
	case MissingBreaching:
		return crossed(cfg, real, fill, true, false)
	case MissingNotBreaching:
		return crossed(cfg, real, fill, false, false)
	}
	breaching := 0
	for _, p := range real {
		if cmp.Compare(p.Value, cfg.Threshold) {
			breaching++
		}
	}
	switch {
	case breaching >= m, breaching < len(real):
		return crossed(cfg, real, 0, false, false)
	case len(real) > 0 && oldest >= m:
		return crossed(cfg, real, 0, false, true)
	case cfg.treatMissing() == MissingIgnore:
		return prev, retained(prev, fill)
	default:
		return StateInsufficientData, insufficient(fill)
	}
}

// crossed decides between ALARM and OK over the real datapoints plus fill
// missing ones treated as breaching (or not). premature forces ALARM: the
// real datapoints all breach and the oldest is at least M periods old.
func crossed(cfg AlarmConfig, real []Point, fill int, fillBreaching, premature bool) (State, Reason) {
	cmp := cfg.comparison()
	n, m := cfg.EvaluationPeriods, cfg.datapointsToAlarm()
	var bad, good []Point // newest first, as AWS lists them
	for i := len(real) - 1; i >= 0; i-- {
		if cmp.Compare(real[i].Value, cfg.Threshold) {
			bad = append(bad, real[i])
		} else {
			good = append(good, real[i])
		}
	}
	breaching := len(bad)
	if fillBreaching {
		breaching += fill
	}
	r := Reason{
		Kind:       ReasonThresholdCrossed,
		Evaluated:  n,
		Threshold:  cfg.Threshold,
		Comparison: cmp.Words(),
		Received:   len(real),
		Missing:    fill,
	}
	if fill > 0 {
		r.TreatedAs = "NonBreaching"
		if fillBreaching {
			r.TreatedAs = "Breaching"
		}
	}
	if breaching >= m || premature {
		r.Datapoints, r.Minimum, r.Transition = bad, m, "OK -> ALARM"
		r.Text = r.thresholdText(fill > 0 && fillBreaching)
		return StateAlarm, r
	}
	r.Datapoints, r.Minimum, r.Transition = good, n-m+1, "ALARM -> OK"
	r.Comparison = "not " + cmp.Words()
	r.Text = r.thresholdText(fill > 0 && !fillBreaching)
	return StateOK, r
}
