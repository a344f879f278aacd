package scenarios

import (
	"math"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/compare"
)

func TestSLOCheck(t *testing.T) {
	cases := []struct {
		expr      string
		metric    string
		op        compare.Op
		threshold float64
		unit      string
		observed  float64
		pass      bool
		margin    string // Format(margin)
		formatted string // Format(observed)
	}{
		{"success_rate >= 99.5%", SuccessRate, ">=", 99.5, "%", 99.87, true, "0.37%", "99.87%"},
		{"success_rate >= 99.5%", SuccessRate, ">=", 99.5, "%", 97.25, false, "-2.25%", "97.25%"},
		{"success_rate>=99%", SuccessRate, ">=", 99, "%", 100, true, "1%", "100%"},
		{"error_rate < 1 %", ErrorRate, "<", 1, "%", 1, false, "0%", "1%"},
		{"p99 <= 500ms", P99, "<=", 500, "ms", 412, true, "88ms", "412ms"},
		{"p99 <= 1s", P99, "<=", 1000, "s", 1250, false, "-250ms", "1.25s"},
		{"p50 < 0.5s", P50, "<", 500, "s", 2.54, true, "497ms", "2.5ms"},
		{"max_latency <= 2.5s", MaxLatency, "<=", 2500, "s", 12000, false, "-9.5s", "12s"},
		{"max_in_service <= 6", MaxInService, "<=", 6, "", 6, true, "0", "6"},
		{"min_in_service >= 2", MinInService, ">=", 2, "", 1, false, "-1", "1"},
		{"lost_writes == 0", LostWrites, "==", 0, "", 0, true, "0", "0"},
		{"lost_writes == 0", LostWrites, "==", 0, "", 3, false, "-3", "3"},
		{"requests > 1000", Requests, ">", 1000, "", 1000, false, "0", "1000"},
		{"scale_out_activities >= 2", ScaleOutActivities, ">=", 2, "", 4, true, "2", "4"},
		{"  scale_in_activities >= 1  ", ScaleInActivities, ">=", 1, "", 0, false, "-1", "0"},
		{"success_rate >= 99%", SuccessRate, ">=", 99, "%", math.NaN(), false, "n/a", "n/a"},
	}
	for _, c := range cases {
		s, err := ParseSLO(c.expr)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", c.expr, err)
			continue
		}
		if s.Metric != c.metric || s.Op != c.op || s.Threshold != c.threshold || s.Unit != c.unit {
			t.Errorf("ParseSLO(%q) = %+v", c.expr, s)
		}
		pass, margin := s.Check(c.observed)
		if pass != c.pass || s.Format(margin) != c.margin || s.Format(c.observed) != c.formatted {
			t.Errorf("%q with %v: pass %v margin %s (%v) formatted %s; want %v %s %s",
				c.expr, c.observed, pass, s.Format(margin), margin, s.Format(c.observed), c.pass, c.margin, c.formatted)
		}
	}
}

func TestBadSLOs(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"p98 <= 500ms", `"p98" is not a metric; use one of success_rate, error_rate, p50, p95, p99, max_latency, max_in_service, min_in_service, lost_writes, lost_session_state, stale_reads, requests, scale_out_activities, scale_in_activities, db_error_window; did you mean p95?`},
		{"latency <= 500ms", `"latency" is not a metric; use one of success_rate, error_rate, p50, p95, p99, max_latency, max_in_service, min_in_service, lost_writes, lost_session_state, stale_reads, requests, scale_out_activities, scale_in_activities, db_error_window; did you mean max_latency?`},
		{">= 99%", `">= 99%" does not start with a metric; write METRIC OP VALUE, as in p99 <= 500ms`},
		{"p99 500ms", `no operator after p99; write METRIC OP VALUE with OP one of >= > <= < ==, as in p99 <= 500ms`},
		{"lost_writes = 0", `"=" is not an operator; use one of >= > <= < ==; did you mean ==?`},
		{"p99 != 1s", `"!=" is not an operator; use one of >= > <= < ==`},
		{"p99 <=", `no value after p99 <=; write METRIC OP VALUE, as in p99 <= 500ms`},
		{"p99 <= fast", `"fast" is not a number; write METRIC OP VALUE, as in p99 <= 500ms`},
		{"p99 <= 5%", `"%" is not a unit for p99; it is a latency: use ms or s, as in p99 <= 500ms`},
		{"p99 <= 500", `500 has no unit; p99 is a latency: use ms or s, as in p99 <= 500ms`},
		{"p95 <= -1ms", `-1ms is negative; a latency is 0 or more`},
		{"success_rate >= 0.995", `0.995 has no unit; success_rate is a percentage: write 0.995%`},
		{"success_rate >= 99ms", `"ms" is not a unit for success_rate; it is a percentage: use %, as in success_rate >= 99.5%`},
		{"error_rate <= 150%", `150% is not a percentage; use 0% to 100%`},
		{"max_in_service <= 6 instances", `"instances" is not a unit for max_in_service; it is a count: write a plain number, as in max_in_service <= 6`},
		{"max_in_service <= 6.5", `6.5 is not a whole number; max_in_service is a count`},
		{"requests >= -1", `-1 is negative; requests is a count, 0 or more`},
	}
	for _, c := range cases {
		_, err := ParseSLO(c.expr)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseSLO(%q) error:\n%v\nwant:\n%s", c.expr, err, c.want)
		}
	}
}

func TestMillis(t *testing.T) {
	if got := Millis(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("Millis(1.5ms) = %v", got)
	}
}

// A margin is written in the metric's unit and signed: a duration's in s or
// ms (not 3e+04), a rate's in percentage points.
func TestFormatMargin(t *testing.T) {
	for _, c := range []struct {
		expr   string
		margin float64
		want   string
	}{
		{"db_error_window <= 120s", 30000, "+30s"},
		{"p99 <= 500ms", -149, "-149ms"},
		{"success_rate >= 80%", 4.987, "+4.99%"},
		{"lost_writes == 0", -51, "-51"},
	} {
		s, err := ParseSLO(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.FormatMargin(c.margin); got != c.want {
			t.Errorf("%s: FormatMargin(%v) = %q, want %q", c.expr, c.margin, got, c.want)
		}
	}
}
