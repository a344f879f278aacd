package tui

import (
	"testing"
	"time"
)

func TestNextAction(t *testing.T) {
	zero, ten := 0.0, 10.0
	high := &AlarmPolicy{Name: "cpu-high", Type: "StepScaling", AdjustmentType: "ChangeInCapacity", Threshold: 80,
		Steps: []PolicyStep{{Lower: &zero, Upper: &ten, Adjustment: 1}, {Lower: &ten, Adjustment: 2}}}
	low := &AlarmPolicy{Name: "cpu-low", Type: "StepScaling", AdjustmentType: "ChangeInCapacity", Threshold: 20,
		Steps: []PolicyStep{{Upper: &zero, Adjustment: -1}}}
	simple := &AlarmPolicy{Name: "simple-up", Type: "SimpleScaling", AdjustmentType: "ChangeInCapacity", Adjustment: 2}
	pct := &AlarmPolicy{Name: "pct", Type: "SimpleScaling", AdjustmentType: "PercentChangeInCapacity", Adjustment: 50}
	exact := &AlarmPolicy{Name: "exact", Type: "SimpleScaling", AdjustmentType: "ExactCapacity", Adjustment: 5}
	cooling := *simple
	cooling.CooldownLeft = 90 * time.Second
	ttHigh := &AlarmPolicy{Name: "tt", Type: "TargetTrackingScaling", High: true}
	ttLow := &AlarmPolicy{Name: "tt", Type: "TargetTrackingScaling"}
	ttNoIn := &AlarmPolicy{Name: "tt", Type: "TargetTrackingScaling", NoScaleIn: true}
	g3 := Group{Min: 1, Desired: 3, Max: 6, InService: 3}
	alarm := func(state string, p *AlarmPolicy, v float64) Alarm {
		return Alarm{Name: "a", State: state, Policy: p, Value: v, HasValue: true}
	}
	for _, c := range []struct {
		name        string
		a           Alarm
		g           Group
		text, short string
	}{
		{"ok", alarm("OK", high, 50), g3, "nothing", "nothing"},
		{"insufficient data", alarm("INSUFFICIENT_DATA", high, 0), g3, "nothing", "nothing"},
		{"no policy", Alarm{Name: "x", State: "ALARM"}, g3, "no scaling policy acts on it", "-"},
		{"step out", alarm("ALARM", high, 85), g3, "policy cpu-high adds 1 (desired 3→4) at the next evaluation", "3→4"},
		{"bigger step", alarm("ALARM", high, 95), g3, "policy cpu-high adds 2 (desired 3→5) at the next evaluation", "3→5"},
		{"step out clamped to max", alarm("ALARM", high, 95), Group{Min: 1, Desired: 5, Max: 6, InService: 5}, "policy cpu-high adds 1 (desired 5→6) at the next evaluation", "5→6"},
		{"at max", alarm("ALARM", high, 85), Group{Min: 1, Desired: 6, Max: 6, InService: 6}, "nothing: policy cpu-high is held at the group's max (6)", "at max"},
		{"warming answers the step", alarm("ALARM", high, 85), Group{Min: 1, Desired: 4, Max: 6, InService: 3, Pending: 1, Warming: 1},
			"nothing: the 1 instance(s) warming up already answer this step of policy cpu-high", "warming"},
		{"warming, bigger step", alarm("ALARM", high, 95), Group{Min: 1, Desired: 4, Max: 6, InService: 3, Pending: 1, Warming: 1},
			"policy cpu-high adds 1 (desired 4→5) at the next evaluation", "4→5"},
		{"step in", alarm("ALARM", low, 5), g3, "policy cpu-low removes 1 (desired 3→2) at the next evaluation", "3→2"},
		{"step in waits for warm-up", alarm("ALARM", low, 5), Group{Min: 1, Desired: 3, Max: 6, InService: 3, Warming: 2},
			"scale-in waits for warm-up (2 instance(s) warming)", "waits warm-up"},
		{"at min", alarm("ALARM", low, 5), Group{Min: 1, Desired: 1, Max: 6, InService: 1}, "nothing: policy cpu-low is held at the group's min (1)", "at min"},
		{"no step covers", alarm("ALARM", high, 70), g3, "nothing: no step of policy cpu-high covers 70", "nothing"},
		{"value unknown", Alarm{State: "ALARM", Policy: high}, g3, "policy cpu-high runs at the next evaluation (the metric's value is not known yet)", "runs"},
		{"simple", alarm("ALARM", simple, 0), g3, "policy simple-up adds 2 (desired 3→5) at the next evaluation", "3→5"},
		{"simple cooldown", alarm("ALARM", &cooling, 0), g3, "policy simple-up waits for its cooldown (1m30s left)", "cooldown"},
		{"percent rounds down", alarm("ALARM", pct, 0), g3, "policy pct adds 1 (desired 3→4) at the next evaluation", "3→4"},
		{"exact", alarm("ALARM", exact, 0), g3, "policy exact sets 5 (desired 3→5) at the next evaluation", "3→5"},
		{"tracking out", alarm("ALARM", ttHigh, 0), g3, "target tracking tt scales out toward its target at the next evaluation (desired 3, max 6)", "scale out"},
		{"tracking in", alarm("ALARM", ttLow, 0), g3, "target tracking tt scales in toward its target at the next evaluation (desired 3, min 1)", "scale in"},
		{"tracking in waits", alarm("ALARM", ttLow, 0), Group{Min: 1, Desired: 3, Max: 6, InService: 3, Warming: 1}, "scale-in waits for warm-up (1 instance(s) warming)", "waits warm-up"},
		{"tracking in disabled", alarm("ALARM", ttNoIn, 0), g3, "nothing: target tracking tt has scale-in disabled", "nothing"},
	} {
		got := nextAction(c.a, c.g)
		if got.Text != c.text || got.Short != c.short {
			t.Errorf("%s: got %q / %q\nwant %q / %q", c.name, got.Text, got.Short, c.text, c.short)
		}
	}
}

func TestMarksLine(t *testing.T) {
	if got := marksLine(" +  !-", 8); got != "   ▲  ↯▼" {
		t.Errorf("marks %q", got)
	}
	if got := marksLine("+!---", 3); got != "▼▼▼" {
		t.Errorf("marks keep the newest: %q", got)
	}
}
