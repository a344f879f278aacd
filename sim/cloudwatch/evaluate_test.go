package cloudwatch

import (
	"strings"
	"testing"
	"time"
)

// pts turns "0 - X - X" into a range of one-minute points from t0:
// 0 is 10 (not breaching), X is 90 (breaching), - is missing.
func pts(s string) []Point {
	var out []Point
	for i, f := range strings.Fields(s) {
		p := Point{Time: t0.Add(time.Duration(i) * time.Minute)}
		switch f {
		case "0":
			p.Value = 10
		case "X":
			p.Value = 90
		case "-":
			p.Missing = true
		default:
			panic("bad point " + f)
		}
		out = append(out, p)
	}
	return out
}

func alarmCfg(m, n int, treat string) AlarmConfig {
	return AlarmConfig{Name: "AlarmHigh", Namespace: NamespaceEC2, MetricName: MetricCPUUtilization,
		Statistic: StatAverage, Period: time.Minute, EvaluationPeriods: n, DatapointsToAlarm: m,
		ComparisonOperator: GreaterThanThreshold, Threshold: 50, TreatMissingData: treat}
}

const retain State = "retain"

// The two tables of AWS's "How alarm state is evaluated when data is
// missing", 5 datapoints fetched for N = 3, plus the premature-alarm rule.
func TestEvaluateMissingDataTables(t *testing.T) {
	tests := []struct {
		m, n                                  int
		points                                string
		missing, ignore, breaching, notBreach State
	}{
		// Datapoints to Alarm 3, Evaluation Periods 3.
		{3, 3, "0 - X - X", StateOK, StateOK, StateOK, StateOK},
		{3, 3, "0 - - - -", StateOK, StateOK, StateOK, StateOK},
		{3, 3, "- - - - -", StateInsufficientData, retain, StateAlarm, StateOK},
		{3, 3, "0 X X - X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{3, 3, "- - - - X", StateInsufficientData, retain, StateAlarm, StateOK},
		// 2 out of 3.
		{2, 3, "0 - X - X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{2, 3, "0 0 X 0 X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{2, 3, "0 - X - -", StateOK, StateOK, StateAlarm, StateOK},
		{2, 3, "- - - - 0", StateOK, StateOK, StateAlarm, StateOK},
		{2, 3, "- - - - X", StateInsufficientData, retain, StateAlarm, StateOK},
		// Premature-transition rule: only breaching real points, the oldest
		// at least M periods old, newer ones breaching or missing.
		{2, 3, "- - - X -", StateAlarm, StateAlarm, StateAlarm, StateOK},
		{3, 3, "- - X - X", StateAlarm, StateAlarm, StateAlarm, StateOK},
		{3, 3, "- - - X X", StateInsufficientData, retain, StateAlarm, StateOK},
		// Enough real points: the newest N count, treatment unused.
		{2, 3, "X X 0 0 0", StateOK, StateOK, StateOK, StateOK},
		{2, 3, "X 0 X 0 0", StateOK, StateOK, StateOK, StateOK},
		{2, 3, "X 0 X 0 X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
	}
	for _, tc := range tests {
		for _, prev := range []State{StateOK, StateAlarm, StateInsufficientData} {
			for treat, want := range map[string]State{
				MissingAsMissing: tc.missing, MissingIgnore: tc.ignore,
				MissingBreaching: tc.breaching, MissingNotBreaching: tc.notBreach,
			} {
				if want == retain {
					want = prev
				}
				got, r := Evaluate(alarmCfg(tc.m, tc.n, treat), prev, pts(tc.points))
				if got != want {
					t.Errorf("%d of %d %q %s from %s: got %s, want %s (%s)", tc.m, tc.n, tc.points, treat, prev, got, want, r.Text)
				}
				if r.Text == "" {
					t.Errorf("%d of %d %q %s: empty reason", tc.m, tc.n, tc.points, treat)
				}
			}
		}
	}
}

func TestEvaluateComparisonOperators(t *testing.T) {
	tests := []struct {
		op    string
		value float64
		want  State
	}{
		{GreaterThanOrEqualToThreshold, 80, StateAlarm},
		{GreaterThanOrEqualToThreshold, 79.9, StateOK},
		{GreaterThanThreshold, 80, StateOK},
		{GreaterThanThreshold, 80.1, StateAlarm},
		{LessThanThreshold, 80, StateOK},
		{LessThanThreshold, 79.9, StateAlarm},
		{LessThanOrEqualToThreshold, 80, StateAlarm},
		{LessThanOrEqualToThreshold, 80.1, StateOK},
	}
	for _, tc := range tests {
		cfg := alarmCfg(1, 1, "")
		cfg.ComparisonOperator, cfg.Threshold = tc.op, 80
		got, r := Evaluate(cfg, StateInsufficientData, []Point{{Time: t0, Value: tc.value}})
		if got != tc.want {
			t.Errorf("%v %s 80: got %s, want %s (%s)", tc.value, tc.op, got, tc.want, r.Text)
		}
	}
}

// Every transition between the three states, for an alarm 2 of 3.
func TestEvaluateTransitions(t *testing.T) {
	tests := []struct {
		prev   State
		points string
		want   State
	}{
		{StateInsufficientData, "- - X X X", StateAlarm},
		{StateInsufficientData, "- - 0 0 0", StateOK},
		{StateInsufficientData, "- - - - -", StateInsufficientData},
		{StateOK, "- - 0 X X", StateAlarm},
		{StateOK, "- - 0 X 0", StateOK},
		{StateOK, "- - - - -", StateInsufficientData},
		{StateAlarm, "- - X 0 0", StateOK},
		{StateAlarm, "- - X 0 X", StateAlarm},
		{StateAlarm, "- - - - -", StateInsufficientData},
	}
	for _, tc := range tests {
		if got, r := Evaluate(alarmCfg(2, 3, ""), tc.prev, pts(tc.points)); got != tc.want {
			t.Errorf("%s with %q: got %s, want %s (%s)", tc.prev, tc.points, got, tc.want, r.Text)
		}
	}
}

func TestEvaluateReasonText(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 5, 0, 0, time.UTC)
	tests := []struct {
		name   string
		cfg    AlarmConfig
		points []Point
		want   string
	}{
		{"1 of 1 alarm", alarmCfgT(1, 1, "", 80), []Point{{Time: at, Value: 86.2}},
			"Threshold Crossed: 1 out of the last 1 datapoints [86.2 (22/11/26 03:05:00)] was greater than the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition)."},
		{"2 of 2 alarm, newest first", alarmCfgT(2, 2, "", 80), []Point{{Time: at.Add(-time.Minute), Value: 90}, {Time: at, Value: 81}},
			"Threshold Crossed: 2 out of the last 2 datapoints [81.0 (22/11/26 03:05:00), 90.0 (22/11/26 03:04:00)] were greater than the threshold (80.0) (minimum 2 datapoints for OK -> ALARM transition)."},
		{"2 of 2 back to OK", alarmCfgT(2, 2, "", 80), []Point{{Time: at.Add(-time.Minute), Value: 90}, {Time: at, Value: 0}},
			"Threshold Crossed: 1 out of the last 2 datapoints [0.0 (22/11/26 03:05:00)] was not greater than the threshold (80.0) (minimum 1 datapoint for ALARM -> OK transition)."},
		{"all missing, notBreaching", alarmCfgT(1, 1, MissingNotBreaching, 80), []Point{{Time: at, Missing: true}},
			"Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."},
		{"all missing, breaching", alarmCfgT(2, 2, MissingBreaching, 80), []Point{{Time: at, Missing: true}},
			"Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]."},
		{"all missing, missing", alarmCfgT(1, 1, "", 80), []Point{{Time: at, Missing: true}},
			"Insufficient Data: 1 datapoint was unknown."},
		{"3 unknown", alarmCfgT(3, 3, "", 80), pts("- - - - -"),
			"Insufficient Data: 3 datapoints were unknown."},
		{"partly filled", alarmCfgT(3, 3, MissingBreaching, 80), []Point{{Time: at.Add(-time.Minute), Missing: true}, {Time: at, Value: 86.2}},
			"Threshold Crossed: 1 out of the last 3 datapoints [86.2 (22/11/26 03:05:00)] was greater than the threshold (80.0) and 2 missing datapoints were treated as [Breaching] (minimum 3 datapoints for OK -> ALARM transition)."},
	}
	for _, tc := range tests {
		_, r := Evaluate(tc.cfg, StateOK, tc.points)
		if r.Text != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, r.Text, tc.want)
		}
	}
}

func TestEvaluateReasonFields(t *testing.T) {
	_, r := Evaluate(alarmCfgT(2, 3, "", 80), StateOK, []Point{{Time: t0, Value: 90}, {Time: t0.Add(time.Minute), Value: 10}, {Time: t0.Add(2 * time.Minute), Value: 95}})
	if r.Kind != ReasonThresholdCrossed || r.Evaluated != 3 || r.Minimum != 2 || r.Threshold != 80 ||
		r.Comparison != "greater than" || r.Transition != "OK -> ALARM" || len(r.Datapoints) != 2 || r.Datapoints[0].Value != 95 {
		t.Errorf("fields: %+v", r)
	}
}

func alarmCfgT(m, n int, treat string, threshold float64) AlarmConfig {
	c := alarmCfg(m, n, treat)
	c.Threshold = threshold
	return c
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.0", 80: "80.0", 86.2: "86.2", -3: "-3.0", 5.535714886726143: "5.535714886726143",
		1e7: "1.0E7", 1.5e-4: "1.5E-4", 0.001: "0.001", 123456.5: "123456.5",
	} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}
