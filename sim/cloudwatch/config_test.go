package cloudwatch

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*AlarmConfig)
		want   string // "" means valid
	}{
		{"valid", func(*AlarmConfig) {}, ""},
		{"high resolution 10 s", func(c *AlarmConfig) { c.Period = 10 * time.Second }, ""},
		{"high resolution 30 s", func(c *AlarmConfig) { c.Period = 30 * time.Second }, ""},
		{"5 minutes", func(c *AlarmConfig) { c.Period = 5 * time.Minute }, ""},
		{"percentile", func(c *AlarmConfig) { c.Statistic = "p99.9" }, ""},
		{"M defaults to N", func(c *AlarmConfig) { c.DatapointsToAlarm = 0 }, ""},
		{"no name", func(c *AlarmConfig) { c.Name = "" }, "AlarmName"},
		{"no namespace", func(c *AlarmConfig) { c.Namespace = "" }, "Namespace"},
		{"no metric", func(c *AlarmConfig) { c.MetricName = "" }, "MetricName"},
		{"no statistic", func(c *AlarmConfig) { c.Statistic = "" }, "Statistic"},
		{"bad statistic", func(c *AlarmConfig) { c.Statistic = "Mean" }, "Statistic"},
		{"45 s period", func(c *AlarmConfig) { c.Period = 45 * time.Second }, "Period"},
		{"zero period", func(c *AlarmConfig) { c.Period = 0 }, "Period"},
		{"N zero", func(c *AlarmConfig) { c.EvaluationPeriods = 0 }, "EvaluationPeriods"},
		{"longer than a day", func(c *AlarmConfig) { c.Period = time.Hour; c.EvaluationPeriods = 25 }, "EvaluationPeriods × Period"},
		{"M over N", func(c *AlarmConfig) { c.DatapointsToAlarm = 4 }, "DatapointsToAlarm"},
		{"M negative", func(c *AlarmConfig) { c.DatapointsToAlarm = -1 }, "DatapointsToAlarm"},
		{"operator", func(c *AlarmConfig) { c.ComparisonOperator = "GreaterThan" }, "ComparisonOperator"},
		{"threshold NaN", func(c *AlarmConfig) { c.Threshold = math.NaN() }, "Threshold"},
		{"missing data", func(c *AlarmConfig) { c.TreatMissingData = "zero" }, "TreatMissingData"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := alarmCfg(3, 3, "")
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := AlarmConfig{Name: "AlarmHigh"}.Validate()
	for _, field := range []string{"Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods", "ComparisonOperator"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}
